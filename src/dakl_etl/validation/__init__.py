"""Validation: runs the protocol's declarations on a DAKL file or frame and reports findings.

`validate_file`/`validate_paths` judge files as CBS's technical check would; `validate_frame`
judges rows before they are written and `validate_written` the bytes written from them (as
`validate_bytes` would, without reading them again); `read_dakl` reads a well-formed file as
text columns.
"""

from dakl_etl.validation.files import (
    read_dakl,
    validate_and_read,
    validate_bytes,
    validate_file,
    validate_paths,
    validate_written,
)
from dakl_etl.validation.rows import validate_frame

__all__ = [
    "read_dakl",
    "validate_and_read",
    "validate_bytes",
    "validate_file",
    "validate_frame",
    "validate_paths",
    "validate_written",
]
