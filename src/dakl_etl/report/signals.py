"""Plausibility signals: the checks CBS applies to spot an implausible delivery, as data.

A signal never blocks a delivery (that is the validator's job); it asks the coordinator to look.
Every signal has a stable id (P01…), its thresholds are parameters, and the report lists all of
them, fired or quiet, with the measured value, so "quiet" is visible too. The signals are judged
on the real counts; the page and the summary quote those counts hidden as in the tables
(`suppression.SIGNAL_COUNTS`), the JSON form (`DeliveryReport.to_dict`) as they are.

P01 persons with BSN dropped against the previous delivery · P02 many rows per person ·
P03 unknown-BSN share · P04 a type used in the previous delivery is absent · P05 a type's rows
jumped or dropped · P06 Datum melding after Startdatum · P07 episodes longer than a year ·
P08 night/emergency/winter shelter longer than a year. P01, P04, P05 need `--previous`.
`SIGNALS` declares each (what it checks, why, what to do); docs/signals.md is generated from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import polars as pl

from dakl_etl.report.figures import Figures


def _threshold(default: float, doc: str) -> Any:
    """A threshold with its meaning; docs/signals.md shows both."""
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class Thresholds:
    """When a signal fires. Shares are fractions (0.25 = 25 %)."""

    max_person_drop: float = _threshold(
        0.5, "persons with BSN fell by more than this share against the previous delivery"
    )
    max_rows_per_person: float = _threshold(
        4.0, 'more rows per person with BSN than this ("a large organisation, one homeless person")'
    )
    min_rows_for_rows_per_person: int = _threshold(20, "P02 is only judged from this many rows on")
    max_unknown_bsn_share: float = _threshold(0.25, "share of rows with BSN 999999999 above this")
    max_type_change: float = _threshold(
        0.5, "a type's rows changed by more than this share (up or down) against the previous"
    )
    min_type_change_rows: int = _threshold(
        25,
        "P05 also needs a change of at least this many rows: small numbers swing by chance "
        "(34 → 52 is +53 %)",
    )
    min_type_rows: int = _threshold(
        10, 'a type counts as "used last time" from this many rows in the previous delivery'
    )
    max_melding_after_start_share: float = _threshold(
        0.05, "share of rows with a Datum melding where the melding lies after the start"
    )
    max_long_share: float = _threshold(
        0.25, "share of episodes longer than a year (open ones measured up to 31 December)"
    )
    max_long_share_ethos2: float = _threshold(
        0.02,
        "share of ETHOS-Light 2 episodes (night, emergency, winter shelter) longer than a year",
    )

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
    #: what was measured, for the message template: numbers and type codes, never personal data;
    #: small counts included (`html.signal_detail` hides them as the tables do)
    measured: dict[str, object] = field(default_factory=dict)
    #: the thresholds that applied, same purpose
    limits: dict[str, object] = field(default_factory=dict)
    #: False when the signal could not be judged (e.g. needs a previous delivery)
    judged: bool = True


@dataclass(frozen=True)
class SignalSpec:
    """What a signal checks, why, and what to do: docs/signals.md is generated from these.

    The page's titles and detail lines are in `i18n` (nl, en) under the signal's id.
    """

    id: str
    checks: str
    why: str
    todo: str
    #: names of the `Thresholds` it uses, as given to `--threshold NAME=VALUE`
    thresholds: tuple[str, ...]
    #: judged only with a previous delivery (`--previous`, or `latest` in a run)
    needs_previous: bool = False


SIGNALS: Mapping[str, SignalSpec] = MappingProxyType(
    {
        s.id: s
        for s in (
            SignalSpec(
                "P01",
                "Persons with a valid BSN against the previous delivery: fires when their number "
                "fell by more than `max_person_drop` (a share of the previous number).",
                "CBS counts persons by BSN. A large drop is rarely fewer homeless people; "
                "usually a source was not read, a mapping now excludes a type, or more BSNs "
                "were rejected as invalid (R05, R06).",
                "Compare the sources with `dakl-etl check` and the ledger of the run (rows per "
                "source, rejects per rule, R05/R06 above all). If the drop is real (a shelter "
                "closed), tell CBS with the delivery.",
                ("max_person_drop",),
                needs_previous=True,
            ),
            SignalSpec(
                "P02",
                "Rows per person with a valid BSN: fires when there are more than "
                "`max_rows_per_person` rows per person, judged from "
                "`min_rows_for_rows_per_person` rows on (without any BSN, the rows themselves "
                "count).",
                "One person with many episodes usually means stays that should be one: a nightly "
                "bed list delivered night by night, a merge gap too small for how a system "
                "records moves, or one placeholder BSN used for many clients.",
                "Check `granularity: night` and `merge_gap_days` in the pipeline YAML, and look in "
                "the source for a BSN used by many clients.",
                ("max_rows_per_person", "min_rows_for_rows_per_person"),
            ),
            SignalSpec(
                "P03",
                "Share of rows with BSN 999999999 (unknown): fires above `max_unknown_bsn_share`.",
                "Rows without a BSN cannot be linked by CBS and count as a person per V-nummer or "
                "per row, so persons are overcounted. A high share usually means a BSN column "
                "that is not mapped or lost on the way, or `invalid_bsn: unknown` turning many "
                "damaged BSNs into 999999999.",
                "Check the BSN column of each source (`dakl-etl check`: invalid and repaired "
                "BSNs), fix the BSNs in the source system, and fill in V-nummers where known.",
                ("max_unknown_bsn_share",),
            ),
            SignalSpec(
                "P04",
                "TypeOpvang codes with at least `min_type_rows` rows in the previous delivery "
                "and none now: fires when there is any; names them.",
                "A type of shelter rarely stops overnight. Its absence usually means a source "
                "that was not read, or a mapping that now sends its labels elsewhere or to "
                "`exclude`.",
                "Run `dakl-etl check` and look at the unmapped labels and exclusions of the "
                "source that holds this type; if the facility closed, tell CBS.",
                ("min_type_rows",),
                needs_previous=True,
            ),
            SignalSpec(
                "P05",
                "Rows per TypeOpvang against the previous delivery, for types with at least "
                "`min_type_rows` rows then and some now: fires when a type changed by more than "
                "`max_type_change` (a share, up or down) and by at least `min_type_change_rows` "
                "rows; names the types.",
                "Big swings per type usually come from the mapping (labels moved from one type "
                "to another), a source read twice, or a new or closed facility, not from the "
                "homeless population.",
                "Compare with `dakl-etl diff OLD NEW` (rows per TypeOpvang) and check the "
                "mappings of `type_opvang`; explain a real change to CBS.",
                ("max_type_change", "min_type_change_rows", "min_type_rows"),
                needs_previous=True,
            ),
            SignalSpec(
                "P06",
                "Share of the rows with a Datum melding whose melding lies after the "
                "Startdatum: fires above `max_melding_after_start_share`.",
                "The report (melding) normally comes before the shelter starts; rule R09 warns "
                "per row. Many at once points to swapped date columns or a day/month mix-up in "
                "a date pattern.",
                "Check the `columns` and `dates` patterns of the sources in the pipeline YAML "
                "(`dakl-etl preview --source NAME` shows the dates next to the source lines).",
                ("max_melding_after_start_share",),
            ),
            SignalSpec(
                "P07",
                "Share of episodes longer than a year (from Startdatum to Einddatum, open "
                "episodes up to 31 December): fires above `max_long_share`.",
                "Long stays exist, but many of them usually mean ends that are not recorded: "
                "clients who left stay open for years, so they count in every year.",
                "Check the end dates and the `status` mapping of the sources; close stays that "
                "ended in the source system (an unknown end date is `ended_unknown`, not open).",
                ("max_long_share",),
            ),
            SignalSpec(
                "P08",
                "Share of ETHOS-Light 2 episodes (night, emergency and winter shelter: 0201, "
                "0203, 0204, 0205) longer than a year: fires above `max_long_share_ethos2`.",
                "Emergency shelter is short by nature. A year or more usually means a type "
                "mapping that puts 24-hour or temporary shelter (ETHOS-Light 3) under "
                "ETHOS-Light 2, or night-by-night stays without end dates.",
                "Check the `type_opvang` mapping of the sources and the end dates of these "
                "episodes.",
                ("max_long_share_ethos2",),
            ),
        )
    }
)
SIGNAL_IDS = tuple(SIGNALS)


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
