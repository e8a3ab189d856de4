"""Synthetic DAKL deliveries for the report tests: realistic by default, crafted by parameters.

Plain Python on purpose (small files); the benchmark has its own vectorised generator.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

from dakl_etl.protocol.fields import HEADER
from synthetic import synthetic_bsns

TYPES_WEIGHTED = {
    "0201": 20,
    "0203": 8,
    "0204": 6,
    "0205": 2,
    "0301": 30,
    "0302": 12,
    "0303": 8,
    "0304": 4,
    "0305": 10,
}
GEMEENTEN = ("0363", "0599", "0518")  # Amsterdam, Rotterdam, 's-Gravenhage
REDENEN = ("19", "19", "19", "21", "22", "23", "99", "02")


@dataclass
class Spec:
    """Knobs of a synthetic delivery; the defaults give a plausible one that fires no signal."""

    year: int = 2024
    persons: int = 300
    seed: int = 1
    types: dict[str, int] = field(default_factory=lambda: dict(TYPES_WEIGHTED))
    unknown_share: float = 0.05
    melding_after_start_share: float = 0.0
    long_share: float = 0.05
    long_ethos2_share: float = 0.0
    episodes_per_person: tuple[int, int] = (1, 2)


def rows(spec: Spec) -> list[list[str]]:
    """The data rows (9 text fields each) of a synthetic delivery."""
    rng = random.Random(spec.seed)
    bsns = synthetic_bsns(spec.persons, seed=spec.seed)
    codes, weights = list(spec.types), list(spec.types.values())
    first, last = dt.date(spec.year, 1, 1), dt.date(spec.year, 12, 31)
    aanmaak = f"{spec.year + 1}0301" + "0930"
    out = []
    for bsn in bsns:
        unknown = rng.random() < spec.unknown_share
        v = "".join(rng.choice("0123456789") for _ in range(10)) if unknown else ""
        gemeente = rng.choice(GEMEENTEN)
        for _ in range(rng.randint(*spec.episodes_per_person)):
            code = rng.choices(codes, weights)[0]
            long_share = spec.long_ethos2_share if code.startswith("02") else spec.long_share
            if rng.random() < long_share:
                start = first - dt.timedelta(days=rng.randint(400, 900))
            else:
                start = first + dt.timedelta(days=rng.randint(-60, 360))
            melding = ""
            if rng.random() < 0.7:
                if rng.random() < spec.melding_after_start_share:
                    melding = (start + dt.timedelta(days=rng.randint(1, 20))).strftime("%Y%m%d")
                else:
                    melding = (start - dt.timedelta(days=rng.randint(0, 60))).strftime("%Y%m%d")
            end_kind = rng.random()
            if start < first - dt.timedelta(days=365) or (end_kind < 0.3 and start >= first):
                end, reden = last, ""  # open at the end of the year
            else:
                end = start + dt.timedelta(days=rng.randint(0, 200))
                if end < first:
                    end = first + dt.timedelta(days=rng.randint(0, 30))
                if end >= last:
                    end, reden = last, ""
                else:
                    reden = rng.choice(REDENEN)
            out.append(
                [
                    aanmaak,
                    gemeente,
                    "999999999" if unknown else bsn,
                    melding,
                    code,
                    start.strftime("%Y%m%d"),
                    end.strftime("%Y%m%d"),
                    reden,
                    v,
                ]
            )
    return out


def write_dakl(directory: Path, data: list[list[str]], name: str = "DAKL_J2024_test.csv") -> Path:
    """A DAKL file as the protocol wants it: header, `;`, CRLF, UTF-8."""
    path = directory / name
    lines = [HEADER, *(";".join(r) for r in data)]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path


def delivery(directory: Path, spec: Spec | None = None, name: str | None = None) -> Path:
    spec = spec or Spec()
    return write_dakl(directory, rows(spec), name or f"DAKL_J{spec.year}_test.csv")


REPO = Path(__file__).resolve().parents[1]
SAMPLE_NOW = "2025-04-24T09:00"


def sample_deliveries(directory: Path) -> dict[int, Path]:
    """The sample region's deliveries (J2024 and its re-delivery J2023), made by a real run."""
    from dakl_etl.api import run_pipeline

    result = run_pipeline(
        REPO / "pipelines" / "sample.yaml",
        out=directory,
        now=SAMPLE_NOW,
        quiet=True,
        log_format="text",
    )
    assert result.exit_code == 0, result.message
    return dict(result.dakl)


def test_synthetic_delivery_is_valid(tmp_path):
    """The generator itself must produce a file the validator accepts, or every test lies."""
    from dakl_etl.validation import validate_file

    report = validate_file(delivery(tmp_path))
    assert report.accepted, report.counts
