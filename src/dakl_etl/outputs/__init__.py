"""Writing outputs: DAKL files, rejects, ledgers; always atomically."""
