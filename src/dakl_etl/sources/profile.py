"""What the mapping would do to each source — the data engineer's loop behind `dakl-etl check`.

A profile is data (`CheckResult.to_dict()`); text and JSON are renderings of it. Values that
may be personal (BSN, V-nummer, or any long digit run in a label or date) are masked.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import polars as pl

from dakl_etl.config import Pipeline
from dakl_etl.config.models import MAPPABLE
from dakl_etl.errors import ExitCode, SourceError, UsageError
from dakl_etl.protocol.bsn import elfproef
from dakl_etl.protocol.codes import UNKNOWN_BSN
from dakl_etl.protocol.fields import FIELD_BY_KEY
from dakl_etl.protocol.privacy import mask_digit_runs, mask_expr
from dakl_etl.protocol.schema import Context, field_finding
from dakl_etl.reference import Gemeenten
from dakl_etl.sources import open_source, read_wide
from dakl_etl.sources.mapping import raw

EXAMPLES = 5  # lines/values shown per finding; counts are always complete
#: A label or date as found, with digit runs long enough to be a BSN/V-nummer masked.
safe = mask_digit_runs


@dataclass
class Example:
    line: int
    value: str


@dataclass
class Finding:
    """One kind of thing the mapping did or could not do, with counts and source lines."""

    what: str  # e.g. "unmapped label", "unparseable date", "invalid BSN"
    field: str
    count: int
    rule: str | None = None  # RULES.md id when the run would reject the rows for it
    label: str | None = None  # the label / value that the finding is about, when it is one
    examples: list[Example] = field(default_factory=list)

    @property
    def more(self) -> int:
        return self.count - len(self.examples)


@dataclass
class SourceProfile:
    name: str
    kind: str
    detail: str = ""
    rows: int = 0
    deliverable: int = 0  # neither excluded nor rejected (before the run's BSN policy)
    error: str | None = None  # the source could not be read
    excluded: dict[str, int] = field(default_factory=dict)
    rejects: dict[str, int] = field(default_factory=dict)
    persons: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    blocking: list[str] = field(default_factory=list)


@dataclass
class CheckResult:
    pipeline: str
    config_hash: str
    strict: bool
    sources: list[SourceProfile]

    @property
    def blocked(self) -> bool:
        return any(s.blocking for s in self.sources)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.REJECTED if self.blocked else ExitCode.OK

    def to_dict(self) -> dict:
        return {
            "pipeline": self.pipeline,
            "config_hash": self.config_hash,
            "strict": self.strict,
            "can_run": not self.blocked,
            "sources": [
                {**asdict(s), "findings": [{**asdict(f), "more": f.more} for f in s.findings]}
                for s in self.sources
            ],
        }

    def to_text(self) -> str:
        out = [f"pipeline {self.pipeline}"]
        for s in self.sources:
            out.append("")
            if s.error:
                out.append(f"source {s.name} ({s.kind}): CANNOT BE READ — {s.error}")
                continue
            out.append(
                f"source {s.name} ({s.kind}, {s.detail}): {s.rows} rows, "
                f"{s.deliverable} deliverable"
            )
            if s.excluded:
                out.append("  excluded (out of scope by mapping):")
                out += [f"    {n:>6}  {why}" for why, n in s.excluded.items()]
            if s.rejects:
                out.append(
                    "  rejected by the mapping (rule: rows):  "
                    + ", ".join(f"{code}: {n}" for code, n in s.rejects.items())
                )
            if s.persons:
                out.append("  persons: " + ", ".join(f"{k} {v}" for k, v in s.persons.items()))
            for f in s.findings:
                rule = f" [{f.rule}]" if f.rule else ""
                label = f" {f.label!r}" if f.label is not None else ""
                out.append(f"  {f.what}{rule} in {f.field}{label}: {f.count}×")
                shown = ", ".join(
                    f"line {e.line}" + (f" ({e.value})" if e.value and e.value != f.label else "")
                    for e in f.examples
                )
                if shown:
                    out.append(f"      {shown}" + (f" … and {f.more} more" if f.more else ""))
            out += [f"  BLOCKS THE RUN: {b}" for b in s.blocking]
        out.append("")
        out.append("can run: no — fix what blocks above" if self.blocked else "can run: yes")
        return "\n".join(out)


def check_pipeline(
    pipeline: Pipeline, *, gemeenten: Gemeenten, only: str | None = None, strict: bool = False
) -> CheckResult:
    """Open every source (or `only`) and profile its mapping; config errors still raise."""
    if only is not None and only not in pipeline.sources:
        raise UsageError(
            f"{pipeline.path}: no source {only!r}; sources: {', '.join(pipeline.sources)}"
        )
    names = [only] if only else list(pipeline.sources)
    return CheckResult(
        pipeline=str(pipeline.path),
        config_hash=pipeline.config_hash,
        strict=strict,
        sources=[_profile(name, pipeline, gemeenten, strict) for name in names],
    )


def _profile(name: str, pipeline: Pipeline, gemeenten: Gemeenten, strict: bool) -> SourceProfile:
    config = pipeline.sources[name]
    profile = SourceProfile(name=name, kind=config.kind)
    try:
        source = open_source(name, pipeline)
        profile.detail = source.detail
        wide = read_wide(name, pipeline, gemeenten=gemeenten, source=source)
    except SourceError as exc:
        profile.error = str(exc)
        profile.blocking.append(f"source {name} cannot be read")
        return profile
    profile.rows = wide.height
    wide = wide.with_columns(pl.col(raw(f)).cast(pl.String) for f in MAPPABLE)
    ok = pl.col("excluded").is_null() & pl.col("reject_code").is_null()
    profile.deliverable = wide.filter(ok).height
    profile.excluded = _counts(wide, "excluded")
    profile.rejects = _counts(wide, "reject_code")
    mapped = config.mapped_columns()
    profile.findings += _label_findings(wide, mapped)
    profile.findings += _year_findings(wide.filter(ok), mapped, pipeline, gemeenten)
    profile.findings += _date_findings(wide, mapped)
    profile.findings += _person_findings(wide, mapped, pipeline.persons.invalid_bsn, profile)
    findings = profile.findings

    if profile.rows and not profile.deliverable:
        profile.blocking.append(
            f"no row of source {name} can be delivered; check its columns, dates and mappings"
        )
    if strict:
        blockers = [
            f for f in findings if (f.rule and f.rule != "R08") or f.what == "unmapped label"
        ]
        profile.blocking += [f"(strict) {f.what} in {f.field}: {f.count}×" for f in blockers]
    return profile


def _label_findings(wide: pl.DataFrame, mapped: dict[str, str]) -> list[Finding]:
    """Values of mapped columns that map to no code, most frequent first."""
    findings: list[Finding] = []
    for fld in ("type_opvang", "reden", "status", "gemeente"):
        if fld not in mapped:
            continue
        rule = {"type_opvang": "R10", "reden": "R16", "gemeente": "R04"}.get(fld)
        what = "unknown gemeente" if fld == "gemeente" else "unmapped label"
        unmapped = pl.col(f"{fld}_code").is_null() & pl.col(f"{fld}_excluded").is_null()
        present = pl.col(raw(fld)).str.strip_chars().ne("").fill_null(False)
        findings += _by_label(wide.filter(present & unmapped), raw(fld), what, mapped[fld], rule)
    if (repaired := wide.filter(pl.col("gemeente_repaired"))).height:
        findings.append(
            Finding(
                "gemeentecode repaired (leading zeros restored)",
                mapped.get("gemeente", ""),
                repaired.height,
                examples=_examples(repaired, raw("gemeente")),
            )
        )
    return findings


def _year_findings(
    deliverable: pl.DataFrame, mapped: dict[str, str], pipeline: Pipeline, gemeenten: Gemeenten
) -> list[Finding]:
    """Known gemeentecodes that did not exist in a reporting year (R04 for that year).

    The run withholds a stay with such a code from that year's file (it is delivered in the
    other years it falls in, or rejected when in none): a warning here, before the run.
    """
    year = pipeline.delivery.year
    years = [year, year - 1] if pipeline.delivery.with_previous_year else [year]
    findings: list[Finding] = []
    for y in years:
        # the validator's own R04, as the final check of the run judges the year file
        r04 = field_finding("gemeentecode", Context(y, gemeenten.codes_in_year(y))) == "R04"
        stale = deliverable.filter(r04.fill_null(False))
        findings += _by_label(
            stale,
            "gemeentecode",
            f"gemeentecode that did not exist in {y}: stays in {y} are withheld from J{y}",
            mapped.get("gemeente", "constants.gemeente"),
            "R04",
        )
    return findings


def _date_findings(wide: pl.DataFrame, mapped: dict[str, str]) -> list[Finding]:
    findings: list[Finding] = []
    date_rules = {"startdatum": "R11", "datum": "R11", "einddatum": "R13", "datum_melding": "R08"}
    for fld, rule in date_rules.items():
        if fld in mapped and (bad := wide.filter(pl.col(f"{fld}_bad"))).height:
            findings.append(
                Finding(
                    "unparseable date",
                    mapped[fld],
                    bad.height,
                    rule,
                    examples=_examples(bad, raw(fld)),
                )
            )
    if (reversed_ := wide.filter(pl.col("reject_code") == "R14")).height:
        findings.append(
            Finding(
                "end before start",
                mapped.get("einddatum", ""),
                reversed_.height,
                "R14",
                examples=_examples(reversed_, raw("einddatum")),
            )
        )
    return findings


def _person_findings(
    wide: pl.DataFrame, mapped: dict[str, str], policy: str, profile: SourceProfile
) -> list[Finding]:
    """Invalid, unknown and repaired BSNs; persons without BSN (counts go to the profile)."""
    findings: list[Finding] = []
    bsn = pl.col("bsn")
    # Only the columns used here, so the filters below copy little of a wide frame.
    wide = wide.select("source_row", "bsn", "bsn_repaired", "v_nummer", "client_id", "reject_code")
    if "bsn" in mapped:
        present = wide.filter(bsn.is_not_null())
        invalid = present.filter((bsn != UNKNOWN_BSN) & ~elfproef(bsn))
        action = "rejected by the run" if policy == "reject" else "delivered as 999999999"
        nine = bsn.str.contains(FIELD_BY_KEY["bsn"].regex)
        for rule, what, rows in (
            ("R05", "BSN not 9 digits", invalid.filter(~nine)),
            ("R06", "BSN fails the elfproef", invalid.filter(nine)),
        ):
            if rows.height:
                findings.append(
                    Finding(
                        f"{what} ({action})",
                        mapped["bsn"],
                        rows.height,
                        rule,
                        examples=_examples(rows, "bsn", personal=True),
                    )
                )
        if (repaired := wide.filter(pl.col("bsn_repaired"))).height:
            findings.append(
                Finding(
                    "BSN repaired (leading zero restored / '.0' removed)",
                    mapped["bsn"],
                    repaired.height,
                    examples=_examples(repaired, "bsn", personal=True),
                )
            )
        valid, unknown = present.select(
            valid=elfproef(bsn).sum(), unknown=(bsn == UNKNOWN_BSN).sum()
        ).row(0)
        profile.persons["valid BSN"] = valid
        profile.persons["BSN unknown (999999999)"] = unknown
        profile.persons["invalid BSN"] = invalid.height
    no_bsn = wide.filter(bsn.is_null())
    if no_bsn.height:
        with_v = no_bsn.filter(pl.col("v_nummer").is_not_null()).height
        only_client = no_bsn.filter(
            pl.col("v_nummer").is_null() & pl.col("client_id").is_not_null()
        ).height
        profile.persons["no BSN, V-nummer"] = with_v
        profile.persons["no BSN, only client id"] = only_client
        if nobody := no_bsn.height - with_v - only_client:
            profile.persons["no person key at all"] = nobody
    if (bad_v := wide.filter(pl.col("reject_code") == "R18")).height:
        findings.append(
            Finding(
                "V-nummer not 10 digits",
                mapped.get("v_nummer", ""),
                bad_v.height,
                "R18",
                examples=_examples(bad_v, "v_nummer", personal=True),
            )
        )
    return findings


def _counts(frame: pl.DataFrame, column: str) -> dict[str, int]:
    counted = frame.get_column(column).drop_nulls().value_counts(sort=True)
    return {safe(k): int(n) for k, n in counted.iter_rows()}


def _by_label(
    frame: pl.DataFrame, column: str, what: str, source_column: str, rule: str | None
) -> list[Finding]:
    if not frame.height:
        return []
    groups = (
        frame.group_by(column)
        .agg(pl.len().alias("n"), pl.col("source_row").sort().head(EXAMPLES).alias("lines"))
        .sort(["n", column], descending=[True, False])
    )
    return [
        Finding(
            what,
            source_column,
            int(n),
            rule,
            label=safe(label),
            examples=[Example(int(line), "") for line in lines],
        )
        for label, n, lines in groups.iter_rows()
    ]


def _examples(frame: pl.DataFrame, column: str, personal: bool = False) -> list[Example]:
    value = mask_expr(column) if personal else pl.col(column)
    head = frame.sort("source_row").head(EXAMPLES).select("source_row", value.alias("v"))
    return [Example(int(line), v if personal else safe(v)) for line, v in head.iter_rows()]
