"""What a finding says about one value: built only for the examples shown, never per row.

A message names what is wrong without the full value; a value that is or may be a BSN or a
V-nummer (also one that slipped into another column) is shown masked.
"""

from __future__ import annotations

import re

from dakl_etl.protocol.codes import UNKNOWN_BSN
from dakl_etl.protocol.fields import FIELD_BY_KEY, PERSONAL_FIELDS
from dakl_etl.protocol.privacy import DIGIT_RUN, mask
from dakl_etl.protocol.schema import SCIENTIFIC


def shown(key: str, value: str) -> str:
    """The value as it may appear outside a DAKL file.

    A digit run outside a personal field may be a shifted BSN or V-nummer, unless it is exactly
    what the field holds (an 8-digit date, a 12-digit Aanmaakdatum).
    """
    if key in PERSONAL_FIELDS:
        return mask(value)
    spec = FIELD_BY_KEY[key]
    if spec.kind in ("date", "datetime") and re.fullmatch(spec.regex, value):
        return value
    if DIGIT_RUN.search(value):
        return mask(value)
    return value


def _what_is_not_a_digit(value: str) -> str:
    if re.match(SCIENTIFIC, value):
        return "is in scientific notation (Excel damage: save the column as text)"
    if value != value.strip():
        return "has surrounding spaces; values are digits only"
    if '"' in value or "'" in value:
        return "has quotes; values are digits only"
    if re.fullmatch(r"\s*[0-9]+[.,][0-9]*\s*", value):
        return "has a decimal point (a number format: save the column as text)"
    if re.fullmatch(
        r"[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{2,4}|[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}", value
    ):
        return "is a date in another format (Excel's dd-mm-yyyy?); write it as YYYYMMDD"
    if "\x00" in value:
        return "contains NUL bytes; values are digits only"
    if "\ufffd" in value:
        return "contains bytes that are not UTF-8; values are digits only"
    if any(c.isspace() for c in value):
        return "contains spaces; values are digits only"
    return "contains characters other than digits; values are digits only"


def message(code: str, key: str, row: dict[str, str], year: int | None) -> str:
    """The message of a row finding `code` on field `key` of `row` (raw text values)."""
    spec = FIELD_BY_KEY[key]
    name = spec.name
    value = row[key]
    v = shown(key, value)
    quoted = f"'{v}'"
    personal = key in PERSONAL_FIELDS
    match code:
        case "R19":
            return f"{name} is empty; it is required"
        case "R20":
            subject = name if personal else f"{name} {quoted}"
            return f"{subject} {_what_is_not_a_digit(value)}"
        case "R02":
            return (
                f"{name} {quoted} is in scientific notation (Excel damage): save the column as text"
            )
        case "R01":
            return f"{name} {quoted} is not a real date-time {spec.pattern} (YYYYMMDDHHMM)"
        case "R03":
            hint = ": leading zeros lost (Excel?)" if len(value) < 4 else ""
            return f"{name} {quoted} has {len(value)} digits, expected 4{hint}"
        case "R04":
            when = f"in {year}" if year else "in any year of the reference list"
            return f"{name} {quoted} is not a CBS municipality code that existed {when}"
        case "R05":
            hint = ": leading zero lost (Excel?)" if len(value) == 8 else ""
            return f"BSN has {len(value)} digits, expected 9{hint}"
        case "R06":
            if value == "000000000":
                return f"BSN 000000000 is not a BSN; use {UNKNOWN_BSN} when the BSN is unknown"
            return f"BSN {v} fails the elfproef"
        case "R07":
            return f"BSN unknown ({UNKNOWN_BSN}) without a V-nummer; add the V-nummer if known"
        case "R08":
            return (
                f"{name} {quoted} is not a real date YYYYMMDD "
                "(facultative: CBS does not reject on it)"
            )
        case "R09":
            return f"{name} {value} is after Startdatum {row['startdatum']}"
        case "R10":
            extra = " (there is no 0202)" if value == "0202" else ""
            return f"{name} {quoted} is not a protocol code{extra}"
        case "R11" | "R13":
            return f"{name} {quoted} is not a real date YYYYMMDD"
        case "R12":
            return f"{name} {value} is after the reporting year {year}"
        case "R14":
            return f"{name} {value} is before Startdatum {row['startdatum']}"
        case "R15":
            return f"{name} {value} is before 1 January {year}, the start of the reporting year"
        case "R16":
            return f"{name} {quoted} is not a protocol code"
        case "R17":
            return f"{name} {quoted} is given without an Einddatum"
        case "R18":
            return f"V-nummer has {len(value)} digits, expected 10"
    return f"{name} {quoted}: {code}"
