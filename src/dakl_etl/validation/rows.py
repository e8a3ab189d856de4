"""Row rules, F08 and F09 on a frame of the nine fields as text: findings as frames first.

All checks are Polars expressions over whole columns (a field's own rules over its distinct
values, the rules across fields over the rows); Python only touches the few example rows that
become `Finding` objects.
"""

from __future__ import annotations

import collections
import itertools
from concurrent.futures import ThreadPoolExecutor

import polars as pl

from dakl_etl.protocol.codes import UNKNOWN_BSN
from dakl_etl.protocol.fields import COLUMNS, FIELD_BY_KEY
from dakl_etl.protocol.findings import Finding, Report
from dakl_etl.protocol.rules import RULES
from dakl_etl.protocol.schema import Context, field_finding, row_finding, value_findings
from dakl_etl.reference import Gemeenten
from dakl_etl.validation.messages import message, shown

_ERROR_CODES = sorted(r.id for r in RULES.values() if r.severity == "error")


def context(year: int | None, gemeenten: Gemeenten) -> Context:
    if year is None:
        codes = frozenset(gemeenten.frame["gemeentecode"].to_list())
    else:
        codes = gemeenten.codes_in_year(year)
    return Context(year=year, gemeentecodes=codes)


def as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """`line` plus the nine fields as text, "" for absent values."""
    missing = [c for c in (*COLUMNS, "line") if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks column(s) {', '.join(missing)}")
    return frame.select(
        pl.col("line").cast(pl.Int64),
        *(pl.col(c).cast(pl.String).fill_null("") for c in COLUMNS),
    )


#: Rows judged at a time: per-value tables are built per batch, so memory stays bounded
#: whatever the size of the file.
BATCH_ROWS = 1 << 18


def check_rows(
    fields: pl.LazyFrame,
    report: Report,
    *,
    ctx: Context,
    max_examples: int,
    aanmaakdatum: pl.LazyFrame | None = None,
    duplicates: pl.DataFrame | None = None,
) -> None:
    """Add the findings of R01–R20, F08 and F09 on `fields` (`line` + nine text columns).

    The rows are judged in batches and only rows with a finding are kept. `aanmaakdatum`
    (`line` + that column) and `duplicates` (the rows that may be exact duplicates) can be
    given when the caller has a cheaper way to them than `fields`.
    """
    code_cols = [f"_{k}" for k in COLUMNS]
    if aanmaakdatum is None:
        aanmaakdatum = fields.select("line", "aanmaakdatum")
    common = _common_aanmaakdatum(aanmaakdatum, ctx)
    f08 = (
        (pl.col("_aanmaakdatum").is_null() & (pl.col("aanmaakdatum") != common))
        if common is not None
        else pl.lit(False)
    )
    flagged = _judged_in_batches(fields, ctx, f08)
    for key in COLUMNS:
        _add_field_findings(flagged, key, report, ctx, max_examples)
    _add_f08(flagged, common, report, max_examples)
    if duplicates is None:
        duplicates = fields.filter(pl.struct(*COLUMNS).is_duplicated()).collect()
    _add_f09(duplicates, report, max_examples)

    has_error = pl.any_horizontal(
        *(pl.col(c).is_in(_ERROR_CODES).fill_null(False) for c in code_cols), pl.col("_f08")
    )
    report.rows_with_errors += int(flagged.select(has_error.sum()).item())


def _judged_in_batches(fields: pl.LazyFrame, ctx: Context, f08: pl.Expr) -> pl.DataFrame:
    """`_judged` on `fields` in batches of `BATCH_ROWS`, two at a time (Polars releases the
    GIL: both cores work on a big file), in order. The rows are not counted first: that would
    split every line once more; a short batch is the last."""

    def judge(offset: int) -> tuple[int, pl.DataFrame]:
        batch = fields.slice(offset, BATCH_ROWS).collect()
        return batch.height, _judged(batch, ctx, f08)

    judged = []
    offsets = itertools.count(0, BATCH_ROWS)
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending = collections.deque(pool.submit(judge, next(offsets)) for _ in range(2))
        while pending:
            height, flagged = pending.popleft().result()
            judged.append(flagged)
            if height < BATCH_ROWS:
                break  # what is still pending lies after the last row: empty
            pending.append(pool.submit(judge, next(offsets)))
    return pl.concat(judged, how="vertical")


#: A field is judged per distinct value when it has at most one distinct value per this many
#: rows (dates, codes); one with more (the BSNs of a file of a million persons) is judged on
#: the rows: its table and look-ups would cost more than the rules themselves.
ROWS_PER_VALUE = 4
#: The first rows of a batch that tell a field of mostly distinct values (`_judged`).
SAMPLE_ROWS = 4096


def _judged(batch: pl.DataFrame, ctx: Context, f08: pl.Expr) -> pl.DataFrame:
    """The rows of `batch` with a finding: `line`, the nine fields, `_<key>` (the field's rule
    id or null) and `_f08`.

    A field with few distinct values has its own-field steps judged once per value, in a small
    table, spread over the rows by the value's index among them (an Enum of the distinct
    values: one hash look-up per row); a result that is the same on every row (no finding for
    any value, in a clean file most of them) is a literal, not spread. Other fields, and the
    `Across` steps, are judged on the rows.
    """
    # a field whose first rows are mostly distinct values (a BSN per person) is judged on the
    # rows without gathering its distinct values: a hash table as large as the batch
    sample = batch.head(SAMPLE_ROWS)
    counts = sample.select(pl.col(k).n_unique() for k in COLUMNS).row(0)
    few = [k for k, n in zip(COLUMNS, counts, strict=True) if 2 * n <= sample.height]
    distinct = batch.select(pl.col(k).unique().drop_nulls().implode() for k in few)
    by_value = [k for k in few if distinct[k][0].len() * ROWS_PER_VALUE <= batch.height]
    tables = {k: distinct[k][0].to_frame(k).select(value_findings(k, ctx)) for k in by_value}
    no_nulls = {k for k in by_value if batch[k].null_count() == 0}

    def same_everywhere(key: str, result: pl.Series) -> bool:
        return result.null_count() == len(result) or (
            key in no_nulls and result.null_count() == 0 and result.n_unique() == 1
        )

    literal = {
        (k, c.name): same_everywhere(k, c) for k in by_value for c in tables[k].iter_columns()
    }
    spread = [k for k in by_value if not all(literal[k, c] for c in tables[k].columns)]
    ids = batch.select(pl.col(k).cast(pl.Enum(distinct[k][0])).to_physical() for k in spread)
    per_value = [
        pl.lit(c[0] if len(c) else None, dtype=c.dtype).alias(c.name)
        if literal[k, c.name]
        else c.gather(ids[k])
        for k in by_value
        for c in tables[k].iter_columns()
    ]
    on_rows = [e for k in COLUMNS if k not in by_value for e in value_findings(k, ctx)]
    findings = [row_finding(k, ctx).alias(f"_{k}") for k in COLUMNS]
    return (
        batch.with_columns(per_value)
        .lazy()
        .with_columns(on_rows)
        .select("line", *COLUMNS, *findings)
        .with_columns(f08.alias("_f08"))
        .filter(pl.any_horizontal(*(pl.col(f"_{k}").is_not_null() for k in COLUMNS), "_f08"))
        .collect()
    )


def _common_aanmaakdatum(aanmaakdatum: pl.LazyFrame, ctx: Context) -> str | None:
    """The valid Aanmaakdatum on most rows (the earliest of equals), judged per distinct value."""
    counts = (
        aanmaakdatum.group_by("aanmaakdatum")
        .agg(pl.len().alias("n"), pl.col("line").min().alias("first"))
        .collect(engine="streaming")
        .filter(field_finding("aanmaakdatum", ctx).is_null())
        .sort(["n", "first"], descending=[True, False])
    )
    return counts["aanmaakdatum"][0] if counts.height else None


def _add_field_findings(
    checked: pl.DataFrame, key: str, report: Report, ctx: Context, max_examples: int
) -> None:
    code_col = f"_{key}"
    hits = checked.filter(pl.col(code_col).is_not_null())
    if hits.height == 0:
        return
    spec = FIELD_BY_KEY[key]
    counts = hits.group_by(code_col).len().sort(code_col)
    for code, total in counts.iter_rows():
        rows = hits.filter(pl.col(code_col) == code).sort("line").head(max_examples)
        examples = [
            Finding(
                code=code,
                severity=RULES[code].severity,
                message=message(code, key, row, ctx.year),
                line=row["line"],
                column=spec.position,
                field=spec.name,
                value=shown(key, row[key]),
            )
            for row in rows.select("line", *COLUMNS).iter_rows(named=True)
        ]
        report.add(code, RULES[code].severity, total, examples)


def _add_f08(flagged: pl.DataFrame, common: str | None, report: Report, max_examples: int) -> None:
    hits = flagged.filter(pl.col("_f08"))
    if hits.height == 0:
        return
    spec = FIELD_BY_KEY["aanmaakdatum"]
    examples = [
        Finding(
            code="F08",
            severity="error",
            message=f"Aanmaakdatum {value} differs from {common}, the value on most rows",
            line=line,
            column=spec.position,
            field=spec.name,
            value=value,
        )
        for line, value in hits.sort("line")
        .head(max_examples)
        .select("line", "aanmaakdatum")
        .iter_rows()
    ]
    report.add("F08", "error", hits.height, examples)


def _add_f09(candidates: pl.DataFrame, report: Report, max_examples: int) -> None:
    """F09 on the rows that may be duplicates; rows with BSN unknown may be different people."""
    real = (pl.col("bsn") != UNKNOWN_BSN) & (pl.col("bsn") != "")
    dups = candidates.filter(real)
    if dups.height == 0:
        return
    later = (
        dups.with_columns(first=pl.col("line").min().over(pl.struct(*COLUMNS)))
        .filter(pl.col("line") != pl.col("first"))
        .sort("line")
    )
    examples = [
        Finding(
            code="F09",
            severity="warning",
            message=f"exact duplicate of line {first} (same BSN and all other fields)",
            line=line,
            value=shown("bsn", bsn),
        )
        for line, first, bsn in later.head(max_examples).select("line", "first", "bsn").iter_rows()
    ]
    report.add("F09", "warning", later.height, examples)


def validate_frame(
    frame: pl.DataFrame,
    *,
    year: int,
    gemeenten: Gemeenten,
    max_examples: int = 20,
    display_name: str = "<frame>",
) -> Report:
    """Row rules, F07 (no rows), F08 and F09 on DAKL rows already split into fields.

    `frame` holds the nine `protocol.fields.COLUMNS` as text and `line` (the physical line
    each row has or will have in the file). The writer and the run use this before writing.
    """
    data = as_text(frame)
    report = Report(file=display_name, year=year, rows=data.height)
    if data.height == 0:
        report.add("F07", "error", 1, [Finding("F07", "error", "there are no data rows")])
        return report
    check_rows(data.lazy(), report, ctx=context(year, gemeenten), max_examples=max_examples)
    return finish(report, max_examples)


def finish(report: Report, max_examples: int) -> Report:
    """Findings in file order, at most `max_examples` per rule; the rest counted as truncated."""
    report.findings.sort(key=lambda f: (f.line or 0, f.column or 0, f.code))
    kept: list[Finding] = []
    per_code: dict[str, int] = {}
    for f in report.findings:
        per_code[f.code] = per_code.get(f.code, 0) + 1
        if per_code[f.code] <= max_examples:
            kept.append(f)
    report.findings = kept
    for code, total in report.counts.items():
        shown = min(per_code.get(code, 0), max_examples)
        if total > shown:
            report.truncated[code] = total - shown
    return report
