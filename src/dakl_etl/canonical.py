"""The canonical frame: what every source adapter delivers and every transform consumes.

One row per source registration (an episode record, or one night of a bed list), typed, with
lineage (`source`, `source_row`) carried from read time to the rejects file and the ledger.
Problems found while mapping do not drop rows: they set `reject_code` (a rule id of RULES.md)
so every input row stays accounted for.
"""

from __future__ import annotations

from types import MappingProxyType

import polars as pl

# fmt: off
SCHEMA = MappingProxyType({
    "source": pl.String,  # source name from the pipeline YAML
    "source_row": pl.Int64,  # 1-based line (CSV, header = 1) / sheet row / query result row
    "granularity": pl.String,  # "episode" or "night"
    "bsn": pl.String,  # 9 digits after Excel repair, may still be invalid; null when absent
    "bsn_repaired": pl.Boolean,  # leading zeros restored or "123.0" cleaned
    "v_nummer": pl.String,  # 10 digits or null
    "client_id": pl.String,  # the system's own person key, scoped to the source
    "gemeentecode": pl.String,  # 4-digit CBS code (names already mapped)
    "type_opvang": pl.String,  # protocol code (protocol.codes.TYPE_OPVANG) or null
    "startdatum": pl.Date,  # night granularity: the night's date
    "einddatum": pl.Date,  # night granularity: the night's date; null = open or unknown
    "ended_unknown": pl.Boolean,  # ended, but on an unknown date (status mapping)
    "reden": pl.String,  # protocol code or null
    "datum_melding": pl.Date,
    "excluded": pl.String,  # out of scope by mapping: why (e.g. "type_opvang: Beschermd wonen")
    "reject_code": pl.String,  # rule id why the row cannot be delivered, else null
    "reject_field": pl.String,  # canonical field the reject is about
    "reject_value": pl.String,  # the offending value as found, masked when personal
})
# fmt: on

COLUMNS = tuple(SCHEMA)


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=dict(SCHEMA))


def conform(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Select the canonical columns in order with their dtypes; absent ones become null."""
    lf = frame.lazy()
    present = set(lf.collect_schema().names())
    return lf.select(
        (pl.col(name) if name in present else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in SCHEMA.items()
    )
