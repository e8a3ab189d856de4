"""F01 and F02: the file name's shape and characters, and the reporting year it carries."""

from __future__ import annotations

import re

from dakl_etl.protocol.fields import FILE_NAME_FORBIDDEN
from dakl_etl.protocol.findings import Finding
from dakl_etl.protocol.rules import RULES

#: F01: DAKL_J{YYYY}, optional "_" + free text, extension .csv/.txt in any case.
NAME_SHAPE = re.compile(r"^DAKL_J([0-9]{4})(_.+)?\.(?i:csv|txt)$", re.DOTALL)
_YEAR_ANYWHERE = re.compile(r"DAKL_J([0-9]{4})", re.IGNORECASE)


def year_from_name(name: str) -> int | None:
    """The reporting year the name carries (also from a slightly misshapen name), else None."""
    match = _YEAR_ANYWHERE.search(name)
    return int(match.group(1)) if match else None


def check_name(name: str, year: int | None = None) -> list[Finding]:
    """F01/F02 findings on a file's base name; `year` is the year the user asked for."""
    findings: list[Finding] = []

    def add(code: str, text: str) -> None:
        findings.append(Finding(code, RULES[code].severity, text))

    match = NAME_SHAPE.match(name)
    if not match:
        add("F01", f"file name '{name}' is not DAKL_J<year>[_free text].csv or .txt")
    elif year is not None and int(match.group(1)) != year:
        add("F01", f"file name '{name}' says J{match.group(1)} but the reporting year is {year}")
    bad = sorted({c for c in name if c in FILE_NAME_FORBIDDEN})
    if bad:
        add("F02", f"file name '{name}' contains forbidden character(s) {' '.join(bad)}")
    if name.count(".") > 1:
        add(
            "F02",
            f"file name '{name}' has more than one '.'; keep only the one before the extension",
        )
    return findings
