"""Source adapters: read a registration system into the canonical frame."""
