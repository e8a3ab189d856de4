"""Findings and reports as data: text, JSON and HTML are renderings of these objects."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

from dakl_etl.protocol.rules import RULES, Severity


@dataclass(frozen=True)
class Finding:
    code: str  # rule id of RULES.md
    severity: Severity
    message: str  # says what is wrong without needing the full value
    line: int | None = None  # 1-based physical line, header = 1; None: about the whole file
    column: int | None = None  # 1-based field position
    field: str | None = None  # header name of the field
    value: str | None = None  # the offending value, masked when it is or may be personal data

    @property
    def hint(self) -> str:
        return RULES[self.code].hint if self.code in RULES else ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["message"] = d.pop("message")  # in JSON: what and where first, then what it says
        return d


@dataclass
class Report:
    """The verdict on one DAKL file."""

    file: str
    year: int | None
    rows: int
    findings: list[Finding] = field(default_factory=list)
    #: rule id -> number of findings in total, also those not kept in `findings`
    counts: Counter = field(default_factory=Counter)
    #: rule id -> number of findings that were left out of `findings` (examples capped)
    truncated: Counter = field(default_factory=Counter)
    #: rows that carry at least one error
    rows_with_errors: int = 0
    #: rule id -> how many of its findings are errors (F03 and F04 have a milder warning case)
    error_counts: Counter = field(default_factory=Counter)

    def add(self, code: str, severity: Severity, total: int, examples: list[Finding]) -> None:
        """Record `total` findings of one rule and severity, keeping `examples` of them."""
        if total <= 0:
            return
        self.counts[code] += total
        if severity == "error":
            self.error_counts[code] += total
        self.findings.extend(examples)
        if total > len(examples):
            self.truncated[code] += total - len(examples)

    @property
    def errors(self) -> int:
        return sum(self.error_counts.values())

    @property
    def warnings(self) -> int:
        return sum(self.counts.values()) - self.errors

    @property
    def accepted(self) -> bool:
        return self.errors == 0

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "year": self.year,
            "accepted": self.accepted,
            "rows": self.rows,
            "errors": self.errors,
            "warnings": self.warnings,
            "rows_with_errors": self.rows_with_errors,
            "counts": dict(sorted(self.counts.items())),
            "truncated": dict(sorted(self.truncated.items())),
            "findings": [f.to_dict() for f in self.findings],
        }
