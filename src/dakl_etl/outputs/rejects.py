"""The rejects file: every source row that cannot be delivered, with what to fix where.

A `;`-separated UTF-8 CSV next to the delivery: source, source line, rule id, field, the value as
found (masked when personal), the masked BSN of the row and a message with the fix. Never a
full BSN or V-nummer; mode 0600 all the same.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from dakl_etl.outputs.atomic import PRIVATE, atomic_output
from dakl_etl.protocol.privacy import mask_expr, mask_if_digit_run
from dakl_etl.protocol.rules import RULES

COLUMNS = ("source", "source_line", "outcome", "rule", "field", "value", "bsn", "message")

_MESSAGES = {
    **{rule.id: f"{rule.title}. {rule.hint}" for rule in RULES.values()},
    # What a source row's defect asks of the data engineer (the DAKL-file hints speak of the
    # file, these of the source system and the pipeline YAML).
    "R03": "Gemeentecode is not 4 digits: correct it in the source or map the name.",
    "R04": "Gemeente unknown in the reference list for the year: correct it in the source, "
    "or map the name to a CBS code.",
    "R05": "BSN is not 9 digits: correct it in the source system (or set "
    "persons.invalid_bsn: unknown to deliver it as 999999999).",
    "R06": "BSN fails the elfproef: correct it in the source system (or set "
    "persons.invalid_bsn: unknown to deliver it as 999999999).",
    "R10": "TypeOpvang missing or without a mapping: add the label under mappings.type_opvang "
    "(a code, or exclude when out of scope).",
    "R11": "Start date missing or unreadable: correct it in the source, or add its format "
    "under dates: in the pipeline.",
    "R13": "End date unreadable: correct it in the source, or add its format under dates: in "
    "the pipeline.",
    "R14": "Start date after end date: correct the dates in the source system.",
    "R16": "Reden without a mapping: add the label under mappings.reden.",
    "R19": "Required value missing (gemeente): fill it in the source, or set "
    "constants.gemeente for the source.",
    "excluded": "Out of scope by the pipeline's mapping (never delivered); nothing to fix.",
    "granularity": "Unknown granularity; set granularity: episode or night for this source.",
}


def rejects_file_name(free_text: str = "") -> str:
    return f"rejects_{free_text}.csv" if free_text else "rejects.csv"


def rejects_table(rejects: pl.DataFrame) -> pl.DataFrame:
    """The file's columns from the run's rejects frame (`transforms.delivery.REJECT_COLUMNS`).

    The run masks `bsn` and personal values already; masking again here (a no-op on masked
    text) is what lets this file promise never to hold a full BSN or V-nummer. The message is
    the rule's (`_MESSAGES`) unless the row brings its own (`message`, built by the run from
    codes and years only: R04 after registration names the year the code did not exist in).
    """
    standard = pl.col("rule").replace_strict(
        _MESSAGES, default="Cannot be delivered; see the rule id.", return_dtype=pl.String
    )
    own = pl.col("message") if "message" in rejects.columns else pl.lit(None, pl.String)
    return rejects.select(
        pl.col("source"),
        pl.col("source_row").alias("source_line"),
        pl.col("outcome"),
        pl.col("rule"),
        pl.col("field"),
        mask_if_digit_run("value").alias("value"),
        mask_expr("bsn").alias("bsn"),
        pl.coalesce(own, standard).alias("message"),
    )


def write_rejects(rejects: pl.DataFrame, path: str | Path) -> Path:
    """Write the rejects file atomically (also when empty: the header says nothing was lost)."""
    table = rejects_table(rejects)
    with atomic_output(path, PRIVATE) as handle:
        table.write_csv(handle, separator=";", line_terminator="\n", null_value="")
    return Path(path)
