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
        return asdict(self)


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

    @property
    def errors(self) -> int:
        return sum(n for code, n in self.counts.items() if self._severity(code) == "error")

    @property
    def warnings(self) -> int:
        return sum(n for code, n in self.counts.items() if self._severity(code) == "warning")

    @property
    def accepted(self) -> bool:
        return self.errors == 0

    def _severity(self, code: str) -> Severity:
        # A rule can be reported milder than its default (F03 BOM, F04 names): trust the findings.
        severities = {f.severity for f in self.findings if f.code == code}
        if "error" in severities:
            return "error"
        if severities:
            return "warning"
        return RULES[code].severity

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "year": self.year,
            "accepted": self.accepted,
            "rows": self.rows,
            "errors": self.errors,
            "warnings": self.warnings,
            "counts": dict(sorted(self.counts.items())),
            "truncated": dict(sorted(self.truncated.items())),
            "findings": [f.to_dict() for f in self.findings],
        }
