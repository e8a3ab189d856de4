"""CBS municipality codes with their validity, from a replaceable CSV.

The default list ships with dakl-etl (`config/reference/gemeenten.csv`); users point to a newer
one with `--reference FILE` or `reference:` in the pipeline YAML, without a new release.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import polars as pl

COLUMNS = ("gemeentecode", "gemeentenaam", "provincie", "geldig_vanaf", "geldig_tot")
_REPO_DEFAULT = Path(__file__).resolve().parents[2] / "config" / "reference" / "gemeenten.csv"


class ReferenceError(Exception):
    """The reference list cannot be read or has the wrong shape."""


def default_reference_path() -> Path:
    """The packaged list (wheel install), else the repository's `config/` (editable install)."""
    packaged = resources.files("dakl_etl") / "_config" / "reference" / "gemeenten.csv"
    if packaged.is_file():
        return Path(str(packaged))
    return _REPO_DEFAULT


@dataclass(frozen=True)
class Gemeenten:
    """The municipality list; validity `geldig_vanaf` inclusive to `geldig_tot` exclusive."""

    path: Path
    frame: pl.DataFrame  # gemeentecode str, gemeentenaam str, provincie str, dates

    def codes_in_year(self, year: int) -> frozenset[str]:
        """Codes that existed on at least one day of `year`."""
        first, after = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
        valid = self.frame.filter(
            (pl.col("geldig_vanaf") < after)
            & (pl.col("geldig_tot").is_null() | (pl.col("geldig_tot") > first))
        )
        return frozenset(valid["gemeentecode"].to_list())

    def names_in_year(self, year: int) -> dict[str, str]:
        """Municipality name -> code for the codes valid in `year` (for sources that give names)."""
        codes = self.codes_in_year(year)
        rows = self.frame.filter(pl.col("gemeentecode").is_in(list(codes)))
        names, codes = rows["gemeentenaam"].to_list(), rows["gemeentecode"].to_list()
        return dict(zip(names, codes, strict=True))

    def name_of(self, code: str) -> str | None:
        hit = self.frame.filter(pl.col("gemeentecode") == code)["gemeentenaam"]
        return hit[0] if len(hit) else None


def load_gemeenten(path: str | Path | None = None) -> Gemeenten:
    return _load(Path(path).resolve() if path else default_reference_path())


@lru_cache(maxsize=8)
def _load(path: Path) -> Gemeenten:
    if path.is_dir():
        raise ReferenceError(f"{path}: is a directory; give the reference list's CSV file")
    try:
        raw = pl.read_csv(path, separator=";", infer_schema=False, encoding="utf8")
    except FileNotFoundError as exc:
        raise ReferenceError(f"{path}: reference list not found") from exc
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ReferenceError(
            f"{path}: cannot read the reference list ({type(exc).__name__})"
        ) from exc
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise ReferenceError(
            f"{path}: reference list lacks column(s) {', '.join(missing)}; expected a ';' CSV "
            f"with {';'.join(COLUMNS)}"
        )
    frame = raw.select(
        pl.col("gemeentecode").str.strip_chars().str.zfill(4),
        pl.col("gemeentenaam").str.strip_chars(),
        pl.col("provincie").str.strip_chars(),
        pl.col("geldig_vanaf").str.to_date("%Y-%m-%d", strict=False),
        pl.col("geldig_tot")
        .str.strip_chars()
        .replace("", None)
        .str.to_date("%Y-%m-%d", strict=False),
    )
    bad = frame.with_row_index("line", offset=2).filter(
        ~pl.col("gemeentecode").str.contains(r"^[0-9]{4}$") | pl.col("geldig_vanaf").is_null()
    )
    if bad.height:
        line = bad["line"][0]
        raise ReferenceError(
            f"{path}:{line}: reference row needs a 4-digit gemeentecode and a geldig_vanaf "
            f"date YYYY-MM-DD"
        )
    return Gemeenten(path=path, frame=frame)
