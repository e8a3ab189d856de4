"""Plausibility signals: the checks CBS applies to spot an implausible delivery, as data.

A signal never blocks a delivery (that is the validator's job); it asks the coordinator to look.
Every signal has a stable id (P01…), its thresholds are parameters, and the report lists all of
them, fired or quiet, with the measured value, so "quiet" is visible too.

P01 persons with BSN dropped against the previous delivery · P02 many rows per person ·
P03 unknown-BSN share · P04 a type used in the previous delivery is absent · P05 a type's rows
jumped or dropped · P06 Datum melding after Startdatum · P07 episodes longer than a year ·
P08 night/emergency/winter shelter longer than a year. P01, P04, P05 need `--previous`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from dakl_etl.report.figures import Figures


@dataclass(frozen=True)
class Thresholds:
    """When a signal fires. Shares are fractions (0.25 = 25 %)."""

    #: P01: persons with BSN fell by more than this share against the previous delivery
    max_person_drop: float = 0.5
    #: P02: more rows per person with BSN than this ("a large organisation, one homeless person")
    max_rows_per_person: float = 4.0
    #: P02: only judged from this many rows on
    min_rows_for_rows_per_person: int = 20
    #: P03: share of rows with BSN 999999999 above this
    max_unknown_bsn_share: float = 0.25
    #: P05: a type's rows changed by more than this share (up or down) against the previous
    max_type_change: float = 0.5
    #: P05: ... and by at least this many rows: small numbers swing by chance (34 -> 52 is +53 %)
    min_type_change_rows: int = 25
    #: P04/P05: a type counts as "used last year" from this many rows in the previous delivery
    min_type_rows: int = 10
    #: P06: share of rows with Datum melding where melding lies after the start
    max_melding_after_start_share: float = 0.05
    #: P07: share of episodes longer than a year (open ones measured up to 31 December)
    max_long_share: float = 0.25
    #: P08: share of ETHOS-Light 2 episodes (night, emergency, winter shelter) longer than a year
    max_long_share_ethos2: float = 0.02

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if value < 0 or (name.endswith(("_share", "_drop")) and value > 1):
                limit = (
                    "a share between 0 and 1"
                    if name.endswith(("_share", "_drop"))
                    else "not negative"
                )
                raise ValueError(f"threshold {name}={value}: must be {limit}")


@dataclass(frozen=True)
class Signal:
    id: str
    fired: bool
    #: what was measured, for the message template: numbers and type codes, never personal data
    measured: dict[str, object] = field(default_factory=dict)
    #: the thresholds that applied, same purpose
    limits: dict[str, object] = field(default_factory=dict)
    #: False when the signal could not be judged (e.g. needs a previous delivery)
    judged: bool = True


SIGNAL_IDS = ("P01", "P02", "P03", "P04", "P05", "P06", "P07", "P08")


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def evaluate(now: Figures, previous: Figures | None, t: Thresholds) -> list[Signal]:
    """All signals in id order."""
    k = now.key
    signals: list[Signal] = []

    if previous is None:
        signals.append(Signal("P01", False, judged=False))
    else:
        before = previous.key.persons_bsn
        change = _share(k.persons_bsn, before) - 1 if before else 0.0
        signals.append(
            Signal(
                "P01",
                before > 0 and -change > t.max_person_drop,
                {"persons": k.persons_bsn, "previous": before, "change": change},
                {"max_person_drop": t.max_person_drop},
            )
        )

    per_person = k.rows / k.persons_bsn if k.persons_bsn else float(k.rows)
    signals.append(
        Signal(
            "P02",
            k.rows >= t.min_rows_for_rows_per_person and per_person > t.max_rows_per_person,
            {"rows": k.rows, "persons": k.persons_bsn, "rows_per_person": per_person},
            {"max_rows_per_person": t.max_rows_per_person},
        )
    )

    unknown_share = _share(k.rows_unknown_bsn, k.rows)
    signals.append(
        Signal(
            "P03",
            unknown_share > t.max_unknown_bsn_share,
            {"rows_unknown_bsn": k.rows_unknown_bsn, "share": unknown_share},
            {"max_unknown_bsn_share": t.max_unknown_bsn_share},
        )
    )

    if previous is None:
        signals.append(Signal("P04", False, judged=False))
        signals.append(Signal("P05", False, judged=False))
    else:
        types = (
            _type_rows(now)
            .join(_type_rows(previous), on="code", how="full", suffix="_previous", coalesce=True)
            .fill_null(0)
        )
        used_before = types.filter(pl.col("rows_previous") >= t.min_type_rows)
        absent = used_before.filter(pl.col("rows") == 0)["code"].to_list()
        signals.append(
            Signal(
                "P04",
                bool(absent),
                {"types": absent},
                {"min_type_rows": t.min_type_rows},
            )
        )
        changed = (
            used_before.filter(pl.col("rows") > 0)
            .with_columns((pl.col("rows") / pl.col("rows_previous") - 1).alias("change"))
            .filter(
                (pl.col("change").abs() > t.max_type_change)
                & ((pl.col("rows") - pl.col("rows_previous")).abs() >= t.min_type_change_rows)
            )
            .sort("code")
        )
        signals.append(
            Signal(
                "P05",
                changed.height > 0,
                {
                    "types": [
                        {"code": c, "rows": r, "previous": p, "change": ch}
                        for c, r, p, ch in changed.select(
                            "code", "rows", "rows_previous", "change"
                        ).rows()
                    ]
                },
                {
                    "max_type_change": t.max_type_change,
                    "min_type_rows": t.min_type_rows,
                    "min_type_change_rows": t.min_type_change_rows,
                },
            )
        )

    melding_share = _share(k.melding_after_start, k.rows_with_melding)
    signals.append(
        Signal(
            "P06",
            melding_share > t.max_melding_after_start_share,
            {
                "rows": k.melding_after_start,
                "rows_with_melding": k.rows_with_melding,
                "share": melding_share,
            },
            {"max_melding_after_start_share": t.max_melding_after_start_share},
        )
    )

    long_share = _share(k.long_episodes, k.rows)
    signals.append(
        Signal(
            "P07",
            long_share > t.max_long_share,
            {"episodes": k.long_episodes, "share": long_share},
            {"max_long_share": t.max_long_share},
        )
    )

    ethos2 = now.per_type.filter((pl.col("level") == "ethos") & (pl.col("code") == "02"))
    ethos2_rows = int(ethos2["rows"].sum()) if ethos2.height else 0
    long2_share = _share(k.long_episodes_ethos2, ethos2_rows)
    signals.append(
        Signal(
            "P08",
            long2_share > t.max_long_share_ethos2,
            {"episodes": k.long_episodes_ethos2, "share": long2_share},
            {"max_long_share_ethos2": t.max_long_share_ethos2},
        )
    )
    return signals


def _type_rows(figures: Figures) -> pl.DataFrame:
    return figures.per_type.filter(pl.col("level") == "type").select("code", "rows")
