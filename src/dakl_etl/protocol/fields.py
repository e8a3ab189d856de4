"""The nine fields of a DAKL row: position, header name, width and what may stand in them.

CBS reads by position; the header names are the writer's choice (RULES.md "Header").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Kind = Literal["datetime", "date", "code", "number"]


@dataclass(frozen=True)
class FieldSpec:
    position: int  # 1-based, as CBS and the validator's `column` count
    key: str  # our snake_case name, also the column name in frames
    name: str  # header name the writer emits
    element: str  # the protocol's "gegevenselement" name, also accepted in a header
    width: int
    pattern: str  # the protocol's notation, for messages
    kind: Kind
    required: bool
    personal: bool  # personal data under the AVG: only ever shown masked

    @property
    def regex(self) -> str:
        return rf"^[0-9]{{{self.width}}}$"  # ASCII only: \d admits other scripts


# fmt: off
FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(1, "aanmaakdatum", "Aanmaakdatum bestand", "Aanmaakdatum", 12, "EEJJMMDDUUMM",
              "datetime", True, False),
    FieldSpec(2, "gemeentecode", "Gemeentecode", "Gemeente", 4, "NNNN", "code", True, False),
    FieldSpec(3, "bsn", "BSN", "Burgerservicenummer", 9, "NNNNNNNNN", "number", True, True),
    FieldSpec(4, "datum_melding", "Datum melding", "Meldingsdatum", 8, "EEJJMMDD", "date",
              False, False),
    FieldSpec(5, "type_opvang", "Type ingezette opvang", "TypeOpvang", 4, "NNNN", "code", True,
              False),
    FieldSpec(6, "startdatum", "Startdatum opvang", "Startdatum", 8, "EEJJMMDD", "date", True,
              False),
    FieldSpec(7, "einddatum", "Einddatum opvang", "Einddatum", 8, "EEJJMMDD", "date", False,
              False),
    FieldSpec(8, "reden", "Reden beëindiging", "RedenBeeindiging", 2, "NN", "code", False, False),
    FieldSpec(9, "v_nummer", "V-nummer", "Vreemdelingennummer", 10, "NNNNNNNNNN", "number", False,
              True),
)
# fmt: on

FIELD_BY_KEY: dict[str, FieldSpec] = {f.key: f for f in FIELDS}
COLUMNS: tuple[str, ...] = tuple(f.key for f in FIELDS)
N_FIELDS = len(FIELDS)
SEPARATOR = ";"
HEADER = SEPARATOR.join(f.name for f in FIELDS)
PERSONAL_FIELDS: frozenset[str] = frozenset(f.key for f in FIELDS if f.personal)
#: F02: characters the portal refuses in a file name, in the protocol's order.
FILE_NAME_FORBIDDEN = ':\\/?;*"><|]['

# Aanmaakdatum is local Dutch time; every date in the file is written as %Y%m%d.
TIMEZONE = "Europe/Amsterdam"
DATE_FORMAT = "%Y%m%d"
DATETIME_FORMAT = "%Y%m%d%H%M"
#: Reporting years dakl-etl accepts anywhere (CLI, API, pipeline YAML, writer), inclusive.
YEAR_MIN, YEAR_MAX = 2000, 2100


def normalise_header_name(name: str) -> str:
    """Compare header names as RULES.md says: case, spaces, hyphens and accents ignored."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[\s\-_]", "", stripped).casefold()


ACCEPTED_HEADER_NAMES: tuple[frozenset[str], ...] = tuple(
    frozenset({normalise_header_name(f.name), normalise_header_name(f.element)}) for f in FIELDS
)
