"""Runs the protocol's declarations against a DAKL file or frame and returns a Report."""
