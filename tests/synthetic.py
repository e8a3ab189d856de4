"""Synthetic personal numbers for tests: elfproef-valid BSNs starting with 9, never real ones."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import polars as pl
from hypothesis import strategies as st

from dakl_etl.reference import Gemeenten

_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2)


def complete_bsn(first8: str) -> str | None:
    """The 9-digit BSN starting with `first8`, or None when no last digit satisfies the elfproef."""
    partial = sum(int(d) * w for d, w in zip(first8, _WEIGHTS, strict=True)) % 11
    last = partial  # 9*d1 + … + 2*d8 - d9 ≡ 0 (mod 11)  =>  d9 ≡ partial (mod 11)
    return first8 + str(last) if last < 10 else None


def synthetic_bsns(n: int, seed: int = 0) -> list[str]:
    """`n` distinct elfproef-valid BSNs starting with 9, deterministic for a seed."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        bsn = complete_bsn("9" + "".join(rng.choice("0123456789") for _ in range(7)))
        if bsn and bsn not in seen:
            seen.add(bsn)
            out.append(bsn)
    return out


def invalid_bsn(valid: str) -> str:
    """A 9-digit number that fails the elfproef: `valid` with its last digit changed."""
    return valid[:8] + str((int(valid[8]) + 1) % 10)


bsn_strategy = (
    st.text("0123456789", min_size=7, max_size=7)
    .map(lambda s: complete_bsn("9" + s))
    .filter(lambda b: b is not None)
)

v_nummer_strategy = st.text("0123456789", min_size=10, max_size=10)


def reference(*extra: tuple[str, str, str, dt.date, dt.date | None]) -> Gemeenten:
    """A small municipality list: Amsterdam and Rotterdam (still existing) plus `extra` rows
    (code, name, province, geldig_vanaf, geldig_tot), e.g. one merged away on a 1 January."""
    since = dt.date(1970, 1, 1)
    rows = [
        ("0363", "Amsterdam", "Noord-Holland", since, None),
        ("0599", "Rotterdam", "Zuid-Holland", since, None),
        *extra,
    ]
    schema = {
        "gemeentecode": pl.String,
        "gemeentenaam": pl.String,
        "provincie": pl.String,
        "geldig_vanaf": pl.Date,
        "geldig_tot": pl.Date,
    }
    return Gemeenten(
        path=Path("<test reference>"), frame=pl.DataFrame(rows, schema=schema, orient="row")
    )
