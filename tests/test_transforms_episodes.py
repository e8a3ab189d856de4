"""Episodes, clamping and year files from small hand-made canonical frames (RULES.md)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from dakl_etl.canonical import conform
from dakl_etl.transforms.delivery import derive
from dakl_etl.transforms.episodes import EpisodeSettings
from dakl_etl.transforms.persons import (
    FIRST_OTHER_PERSON,
    OTHER_KEYS_SCHEMA,
    number_other_persons,
)
from synthetic import invalid_bsn, reference, synthetic_bsns

D = dt.date
NOW = dt.datetime(2025, 4, 24, 9, 0)
B = synthetic_bsns(6, seed=4)


def row(
    source="zaken",
    line=2,
    *,
    bsn=B[0],
    type_opvang="0301",
    gemeente="0363",
    start,
    end=None,
    granularity="episode",
    **extra,
) -> dict:
    return dict(
        source=source,
        source_row=line,
        granularity=granularity,
        bsn=bsn,
        type_opvang=type_opvang,
        gemeentecode=gemeente,
        startdatum=start,
        einddatum=end if granularity == "episode" else start,
        **extra,
    )


def nights(source, first: dt.date, n: int, *, line=2, skip=(), **kw) -> list[dict]:
    days = [first + dt.timedelta(days=i) for i in range(n) if i not in skip]
    return [row(source, line + i, start=d, granularity="night", **kw) for i, d in enumerate(days)]


def run(rows, years=(2024,), now=NOW, **kw):
    frame = (
        conform(pl.DataFrame(rows, infer_schema_length=None)) if rows else conform(pl.DataFrame())
    )
    sources = sorted({r["source"] for r in rows})
    frames = {s: frame.filter(pl.col("source") == s) for s in sources}
    return derive(frames, years=years, now=now, **kw)


def out(derived, year=2024) -> list[tuple]:
    return [
        (r["bsn"], r["type_opvang"], r["startdatum"], r["einddatum"], r["reden"], r["v_nummer"])
        for r in derived.year_frame(year).iter_rows(named=True)
    ]


def test_consecutive_nights_become_one_episode():
    d = run(nights("bed", D(2024, 3, 1), 10, type_opvang="0201"))
    assert out(d) == [(B[0], "0201", D(2024, 3, 1), D(2024, 3, 10), None, None)]
    assert d.ledger["flow"]["night_runs"] == 1
    assert d.ledger["sources"]["bed"]["delivered"] == 10


def test_duplicate_nights_count_once_as_stay_but_every_row_is_accounted():
    rows = nights("bed", D(2024, 3, 1), 3) + nights("bed", D(2024, 3, 1), 3, line=50)
    d = run(rows)
    assert len(out(d)) == 1
    assert d.ledger["sources"]["bed"]["read"] == 6 == d.ledger["sources"]["bed"]["delivered"]


def test_gap_longer_than_setting_gives_two_episodes():
    rows = nights("bed", D(2024, 3, 1), 6, skip={2, 3}, type_opvang="0201")  # 2 nights missing
    assert len(out(run(rows))) == 2
    assert len(out(run(rows, settings=EpisodeSettings(merge_gap_days=1)))) == 2
    assert len(out(run(rows, settings=EpisodeSettings(merge_gap_days=2)))) == 1


def test_gap_per_type_overrides_the_global_gap():
    rows = nights("bed", D(2024, 3, 1), 4, skip={1}, type_opvang="0201")
    rows += nights("bed", D(2024, 3, 1), 4, skip={1}, type_opvang="0203", line=20)
    settings = EpisodeSettings(merge_gap_days=0, merge_gap_days_by_type={"0201": 1})
    types = sorted(r[1] for r in out(run(rows, settings=settings)))
    assert types == ["0201", "0203", "0203"]


def test_episode_records_following_each_other_merge_and_a_gap_splits():
    rows = [
        row(line=2, start=D(2024, 1, 1), end=D(2024, 1, 31), reden="21"),
        row(line=3, start=D(2024, 2, 1), end=D(2024, 2, 10), reden="19"),  # next day: merges
        row(line=4, start=D(2024, 2, 12), end=D(2024, 2, 20), reden="22"),  # one day gap
    ]
    assert out(run(rows)) == [
        (B[0], "0301", D(2024, 1, 1), D(2024, 2, 10), "19", None),
        (B[0], "0301", D(2024, 2, 12), D(2024, 2, 20), "22", None),
    ]


def test_of_registrations_ending_the_same_day_the_first_gives_reden_and_v_nummer():
    """Ties go to the first registration in episode order: earlier start, then input order."""
    end = D(2024, 3, 31)
    rows = [
        row(line=2, start=D(2024, 2, 1), end=end, reden="21", v_nummer="1234567891"),
        row(line=3, start=D(2024, 1, 1), end=end, reden="19", v_nummer="1234567890"),
    ]
    assert out(run(rows)) == [(B[0], "0301", D(2024, 1, 1), end, "19", "1234567890")]
    same_start = [
        row(line=2, start=D(2024, 1, 1), end=end, reden="21"),
        row(line=3, start=D(2024, 1, 1), end=end, reden="19", v_nummer="1234567890"),
    ]
    assert out(run(same_start)) == [(B[0], "0301", D(2024, 1, 1), end, "21", "1234567890")]


def test_same_stay_in_two_systems_is_one_row():
    rows = [
        row(
            "zaken",
            2,
            start=D(2024, 5, 1),
            end=D(2024, 6, 30),
            reden="19",
            datum_melding=D(2024, 4, 20),
        ),
        row(
            "mo",
            7,
            start=D(2024, 5, 2),
            end=D(2024, 6, 30),
            reden="19",
            v_nummer="1234567890",
            datum_melding=D(2024, 4, 25),
        ),
    ]
    d = run(rows)
    assert out(d) == [(B[0], "0301", D(2024, 5, 1), D(2024, 6, 30), "19", "1234567890")]
    assert d.year_frame(2024)["datum_melding"].to_list() == [D(2024, 4, 20)]
    assert d.ledger["sources"]["zaken"]["delivered"] == 1
    assert d.ledger["sources"]["mo"]["delivered"] == 1


def test_two_types_give_two_rows():
    rows = [
        row(start=D(2024, 1, 1), end=D(2024, 3, 1), type_opvang="0301"),
        row(line=3, start=D(2024, 1, 1), end=D(2024, 3, 1), type_opvang="0302"),
    ]
    assert [r[1] for r in out(run(rows))] == ["0301", "0302"]


def test_two_gemeenten_give_two_rows():
    rows = [
        row(start=D(2024, 1, 1), end=D(2024, 3, 1), gemeente="0363"),
        row(line=3, start=D(2024, 1, 1), end=D(2024, 3, 1), gemeente="0599"),
    ]
    assert len(out(run(rows))) == 2


def test_open_episode_is_in_both_years_clamped_to_each_year_end():
    d = run([row(start=D(2023, 6, 1), reden="19")], years=(2024, 2023))
    assert out(d, 2023) == [(B[0], "0301", D(2023, 6, 1), D(2023, 12, 31), None, None)]
    assert out(d, 2024) == [(B[0], "0301", D(2023, 6, 1), D(2024, 12, 31), None, None)]


def test_known_end_in_next_year_is_kept_on_the_earlier_years_row():
    d = run([row(start=D(2023, 6, 1), end=D(2024, 2, 15), reden="19")], years=(2024, 2023))
    assert out(d, 2023) == [(B[0], "0301", D(2023, 6, 1), D(2024, 2, 15), "19", None)]
    assert out(d, 2024) == [(B[0], "0301", D(2023, 6, 1), D(2024, 2, 15), "19", None)]


def test_end_after_now_counts_as_open_and_reden_is_dropped():
    d = run([row(start=D(2024, 6, 1), end=D(2025, 8, 1), reden="19")], years=(2024,))
    assert out(d) == [(B[0], "0301", D(2024, 6, 1), D(2024, 12, 31), None, None)]
    # the same end before `now` is a real end, kept after the year with its reden
    d = run([row(start=D(2024, 6, 1), end=D(2025, 3, 1), reden="19")], years=(2024,))
    assert out(d) == [(B[0], "0301", D(2024, 6, 1), D(2025, 3, 1), "19", None)]


def test_reden_is_dropped_when_open_wins_a_conflict():
    rows = [
        row("zaken", 2, start=D(2024, 1, 1)),
        row("mo", 2, start=D(2024, 1, 1), end=D(2024, 3, 1), reden="21"),
    ]
    d = run(rows)
    assert out(d) == [(B[0], "0301", D(2024, 1, 1), D(2024, 12, 31), None, None)]
    assert d.ledger["flow"]["conflicts"] == 1


def test_end_date_precedence_lets_the_named_source_close_the_episode():
    rows = [
        row("zaken", 2, start=D(2024, 1, 1)),
        row("mo", 2, start=D(2024, 1, 1), end=D(2024, 3, 1), reden="21"),
    ]
    d = run(rows, settings=EpisodeSettings(end_date_precedence=("mo",)))
    assert out(d) == [(B[0], "0301", D(2024, 1, 1), D(2024, 3, 1), "21", None)]
    assert d.ledger["flow"]["conflicts"] == 1


def test_continuation_after_a_closed_stay_is_not_a_conflict():
    rows = [
        row(start=D(2024, 1, 1), end=D(2024, 3, 1), reden="21"),
        row(line=3, start=D(2024, 3, 2)),
    ]
    d = run(rows)
    assert out(d) == [(B[0], "0301", D(2024, 1, 1), D(2024, 12, 31), None, None)]
    assert d.ledger["flow"]["conflicts"] == 0


def test_night_run_reaching_now_is_open_and_an_older_one_is_closed():
    recent = nights("bed", D(2025, 4, 10), 14)  # last night 23 April, now is 24 April 09:00
    assert out(run(recent, years=(2025,)), 2025)[0][3] == D(2025, 12, 31)
    older = nights("bed", D(2025, 4, 10), 13)  # last night 22 April: two days before now
    assert out(run(older, years=(2025,)), 2025)[0][3] == D(2025, 4, 22)
    gap1 = EpisodeSettings(merge_gap_days=1)
    assert out(run(older, years=(2025,), settings=gap1), 2025)[0][3] == D(2025, 12, 31)


def test_ended_on_unknown_date_is_delivered_in_its_start_year_only():
    rows = [row(start=D(2023, 11, 1), ended_unknown=True, reden="99")]
    d = run(rows, years=(2024, 2023))
    # no Reden without an Einddatum (R17), even though the source gave one
    assert out(d, 2023) == [(B[0], "0301", D(2023, 11, 1), None, None, None)]
    assert out(d, 2024) == []
    assert d.ledger["sources"]["zaken"]["delivered"] == 1


def test_episode_outside_the_years_is_counted_as_such():
    d = run(
        [
            row(start=D(2021, 1, 1), end=D(2021, 5, 1)),
            row(line=3, start=D(2024, 2, 1), end=D(2024, 2, 2)),
        ]
    )
    assert d.ledger["sources"]["zaken"]["outside_years"] == 1
    assert d.ledger["sources"]["zaken"]["delivered"] == 1
    assert d.ledger["balanced"]


def test_unknown_bsn_with_v_nummer_is_keyed_by_v_nummer():
    rows = [
        row(line=2, bsn=None, v_nummer="0123456789", start=D(2024, 1, 1), end=D(2024, 1, 5)),
        row(line=3, bsn="999999999", v_nummer="0123456789", start=D(2024, 1, 6), end=D(2024, 1, 9)),
    ]
    assert out(run(rows)) == [
        ("999999999", "0301", D(2024, 1, 1), D(2024, 1, 9), None, "0123456789")
    ]


def test_unknown_persons_are_never_merged_even_with_identical_rows():
    rows = [
        row(line=2, bsn=None, start=D(2024, 1, 1), end=D(2024, 1, 5)),
        row(line=3, bsn=None, start=D(2024, 1, 1), end=D(2024, 1, 5)),
    ]
    assert len(out(run(rows))) == 2


def test_client_id_merges_within_a_source_but_not_across_sources():
    rows = [
        row("a", 2, bsn=None, client_id="K1", start=D(2024, 1, 1), end=D(2024, 1, 5)),
        row("a", 3, bsn=None, client_id="K1", start=D(2024, 1, 6), end=D(2024, 1, 8)),
        row("b", 2, bsn=None, client_id="K1", start=D(2024, 1, 1), end=D(2024, 1, 8)),
    ]
    assert len(out(run(rows))) == 2


@pytest.mark.parametrize("policy", ["reject", "unknown"])
def test_invalid_bsn_under_both_policies(policy):
    bad = invalid_bsn(B[1])
    rows = [
        row(line=2, bsn=bad, v_nummer="0000012345", start=D(2024, 1, 1), end=D(2024, 1, 5)),
        row(line=3, bsn="12345", start=D(2024, 1, 1), end=D(2024, 1, 5)),
        row(line=4, start=D(2024, 1, 1), end=D(2024, 1, 5)),
    ]
    d = run(rows, invalid_bsn=policy)
    rejects = d.rejects.to_dicts()
    text = repr(rejects) + repr(d.ledger)
    assert bad not in text
    if policy == "reject":
        assert [(r["source_row"], r["rule"], r["field"]) for r in rejects] == [
            (2, "R06", "bsn"),
            (3, "R05", "bsn"),
        ]
        assert rejects[0]["value"] == "******" + bad[-3:]
        assert d.ledger["totals"]["rejected"] == {"R05": 1, "R06": 1}
        assert out(d) == [(B[0], "0301", D(2024, 1, 1), D(2024, 1, 5), None, None)]
    else:
        assert rejects == []
        got = out(d)
        assert ("999999999", "0301", D(2024, 1, 1), D(2024, 1, 5), None, "0000012345") in got
        assert len(got) == 3
        assert all(r[0] in (B[0], "999999999") for r in got)
        assert d.ledger["flow"]["invalid_bsn_delivered_as_unknown"] == 2


def test_rows_that_cannot_be_delivered_are_rejected_with_their_rule():
    rows = [
        row(line=2, start=None),
        row(line=3, type_opvang=None, start=D(2024, 1, 1)),
        row(line=4, type_opvang="0202", start=D(2024, 1, 1)),
        row(line=5, gemeente=None, start=D(2024, 1, 1)),
        row(line=6, start=D(2024, 2, 1), end=D(2024, 1, 1)),
        row(
            line=7,
            start=D(2024, 2, 1),
            reject_code="R04",
            reject_field="gemeentecode",
            reject_value="Atlantis",
        ),
        row(line=8, start=D(2024, 2, 1), excluded="type_opvang: Beschermd wonen"),
    ]
    d = run(rows)
    got = [(r["source_row"], r["outcome"], r["rule"]) for r in d.rejects.to_dicts()]
    assert got == [
        (2, "rejected", "R11"),
        (3, "rejected", "R10"),
        (4, "rejected", "R10"),
        (5, "rejected", "R19"),
        (6, "rejected", "R14"),
        (7, "rejected", "R04"),
        (8, "excluded", "excluded"),
    ]
    entry = d.ledger["sources"]["zaken"]
    assert entry["excluded"] == 1 and sum(entry["rejected"].values()) == 6
    assert entry["balanced"] and out(d) == []


def test_same_person_type_gemeente_and_start_appears_once():
    rows = [
        row(line=2, start=D(2024, 1, 1), end=D(2024, 1, 3)),
        row(line=3, start=D(2024, 1, 1), end=D(2024, 2, 3), reden="19"),
    ]
    assert out(run(rows)) == [(B[0], "0301", D(2024, 1, 1), D(2024, 2, 3), "19", None)]


def test_no_sources_gives_an_empty_balanced_ledger():
    d = run([])
    assert d.ledger["balanced"] and d.year_frame(2024).height == 0
    assert d.ledger["sources"] == {} and d.ledger["totals"]["read"] == 0


def test_nights_spanning_decades_give_the_same_runs():
    # the packed sort key widens its day field to the span of the data
    rows = nights("bed", D(1960, 1, 1), 3) + nights("bed", D(2024, 3, 1), 4, line=40)
    rows += nights("bed", D(2024, 3, 1), 2, line=80, bsn=B[1])
    d = run(rows, years=(2024,))
    assert d.ledger["flow"]["night_runs"] == 3
    assert sorted((r[0], r[2], r[3]) for r in out(d)) == sorted(
        [(B[0], D(2024, 3, 1), D(2024, 3, 4)), (B[1], D(2024, 3, 1), D(2024, 3, 2))]
    )
    assert d.ledger["sources"]["bed"]["outside_years"] == 3


def test_sources_are_not_limited_in_number():
    rows = [row(f"s{i:02}", 2, bsn=b, start=D(2024, 1, 1)) for i, b in enumerate(BSNS_60)]
    d = run(rows)
    assert d.year_frame(2024).height == 60 and d.ledger["balanced"]
    assert all(e["delivered"] == 1 for e in d.ledger["sources"].values())


BSNS_60 = synthetic_bsns(60, seed=9)


# --- R04: a gemeentecode that did not exist in a reporting year ------------------------------

OLD = "0123"  # a municipality merged away on 1 January 2024: existed in 2023, not in 2024
REFERENCE = reference((OLD, "Oudgemeente", "Zuid-Holland", D(1970, 1, 1), D(2024, 1, 1)))


def codes(*years: int) -> dict[int, frozenset[str]]:
    """What the run passes: per reporting year the codes of `Gemeenten.codes_in_year`."""
    return {y: REFERENCE.codes_in_year(y) for y in years}


def r04_rejects(derived) -> list[tuple]:
    return [
        (r["source"], r["source_row"], r["outcome"], r["field"], r["value"])
        for r in derived.rejects.filter(pl.col("rule") == "R04").to_dicts()
    ]


def test_code_of_one_year_is_withheld_from_the_other_year_and_stays_delivered():
    rows = [row(gemeente=OLD, start=D(2023, 6, 1), end=D(2024, 2, 1), reden="19")]
    d = run(rows, years=(2024, 2023), gemeentecodes=codes(2024, 2023))
    assert out(d, 2023) == [(B[0], "0301", D(2023, 6, 1), D(2024, 2, 1), "19", None)]
    assert out(d, 2024) == []
    entry = d.ledger["sources"]["zaken"]
    assert entry["delivered"] == 1 and entry["rejected"] == {} and entry["balanced"]
    assert entry["rejected_after_registration"] == 0
    assert d.ledger["flow"]["withheld_r04_rows_per_year"] == {"2024": 1, "2023": 0}
    assert d.rejects.height == 0


def test_episode_only_in_the_year_its_code_did_not_exist_is_rejected_r04():
    rows = [
        row(line=2, gemeente=OLD, start=D(2024, 3, 1), end=D(2024, 4, 1)),
        row(line=3, gemeente="0363", start=D(2024, 3, 1), end=D(2024, 4, 1)),
    ]
    d = run(rows, years=(2024, 2023), gemeentecodes=codes(2024, 2023))
    assert [r[0] for r in out(d, 2024)] == [B[0]]
    assert d.year_frame(2024)["gemeentecode"].to_list() == ["0363"]
    assert r04_rejects(d) == [("zaken", 2, "rejected", "gemeentecode", OLD)]
    reject = d.rejects.row(0, named=True)
    assert reject["bsn"] == "******" + B[0][-3:]
    assert f"{OLD} did not exist in 2024" in reject["message"]
    assert "2023" not in reject["message"]
    assert "mappings.gemeente" in reject["message"] and "reference list" in reject["message"]
    entry = d.ledger["sources"]["zaken"]
    assert (entry["delivered"], entry["rejected"], entry["outside_years"]) == (1, {"R04": 1}, 0)
    assert entry["registered"] == 2 and entry["rejected_after_registration"] == 1
    assert d.ledger["balanced"]
    flow = d.ledger["flow"]
    assert flow["episodes_rejected_r04"] == 1 and flow["episodes_delivered"] == 1
    assert flow["withheld_r04_rows_per_year"] == {"2024": 1, "2023": 0}


def test_every_night_of_a_rejected_run_is_in_the_rejects_file():
    rows = (
        nights("bed", D(2023, 12, 20), 3, line=2, gemeente=OLD)  # 2023: delivered
        + nights("bed", D(2024, 3, 1), 4, line=10, gemeente=OLD)  # 2024 only: rejected
        + nights("bed", D(2024, 3, 2), 1, line=30, gemeente=OLD)  # the same night twice
        + nights("bed", D(2024, 3, 1), 2, line=40, gemeente=OLD, bsn=B[1])  # someone else
        + nights("bed", D(2024, 3, 1), 2, line=50)  # 0363: delivered
    )
    d = run(rows, years=(2024, 2023), gemeentecodes=codes(2024, 2023))
    assert [r[1] for r in r04_rejects(d)] == [10, 11, 12, 13, 30, 40, 41]
    entry = d.ledger["sources"]["bed"]
    assert entry["rejected"] == {"R04": 7} and entry["rejected_after_registration"] == 7
    assert entry["delivered"] == 5 and entry["balanced"]
    assert d.ledger["flow"]["withheld_r04_rows_per_year"] == {"2024": 2, "2023": 0}
    assert d.rejects.height == sum(entry["rejected"].values())


def test_open_run_in_no_year_of_its_code_lists_every_night():
    # 2025 and 2024 delivered; OLD existed in neither: the run reaching `now` is open
    rows = nights("bed", D(2025, 4, 10), 14, gemeente=OLD)
    d = run(rows, years=(2025, 2024), gemeentecodes=codes(2025, 2024))
    assert out(d, 2025) == [] and out(d, 2024) == []
    assert [r[1] for r in r04_rejects(d)] == list(range(2, 16))
    assert "did not exist in 2025 " in d.rejects["message"][0]
    assert d.ledger["balanced"] and d.ledger["totals"]["rejected"] == {"R04": 14}


def test_message_names_every_year_the_code_did_not_exist_in():
    rows = [row(gemeente=OLD, start=D(2024, 6, 1))]  # open: in 2024 and 2025
    d = run(rows, years=(2025, 2024), gemeentecodes=codes(2025, 2024))
    assert f"{OLD} did not exist in 2024 and 2025 " in d.rejects["message"][0]


def test_r04_from_the_mapping_and_after_registration_add_up_under_one_rule():
    rows = [
        row(
            line=2,
            gemeente=None,
            start=D(2024, 1, 1),
            reject_code="R04",
            reject_field="gemeentecode",
            reject_value="Atlantis",
        ),
        row(line=3, gemeente=OLD, start=D(2024, 1, 1), end=D(2024, 1, 9)),
        row(line=4, gemeente=OLD, start=D(2021, 1, 1), end=D(2021, 1, 9)),  # outside the years
    ]
    d = run(rows, years=(2024,), gemeentecodes=codes(2024))
    entry = d.ledger["sources"]["zaken"]
    assert entry["rejected"] == {"R04": 2} and entry["rejected_after_registration"] == 1
    assert entry["outside_years"] == 1 and entry["registered"] == 2 and entry["balanced"]
    messages = dict(zip(d.rejects["source_row"], d.rejects["message"], strict=True))
    assert messages[2] is None  # the rule's standard message (outputs.rejects)
    assert "did not exist in 2024" in messages[3]


def test_without_codes_nothing_is_withheld():
    rows = [row(gemeente=OLD, start=D(2024, 3, 1), end=D(2024, 4, 1))]
    d = run(rows, years=(2024,))
    assert d.year_frame(2024)["gemeentecode"].to_list() == [OLD]
    assert d.ledger["flow"]["withheld_r04_rows_per_year"] == {"2024": 0}


def test_codes_that_all_existed_change_nothing():
    rows = [
        row(line=2, start=D(2023, 6, 1), end=D(2024, 2, 1)),
        row(line=3, gemeente="0599", start=D(2024, 3, 1)),
        row(line=4, start=None),
        *nights("bed", D(2024, 3, 1), 3, line=10),
    ]
    plain = run(rows, years=(2024, 2023))
    checked = run(rows, years=(2024, 2023), gemeentecodes=codes(2024, 2023))
    for y in (2024, 2023):
        assert checked.year_frame(y).equals(plain.year_frame(y))
    assert checked.rejects.equals(plain.rejects)
    assert checked.ledger == plain.ledger


def test_codes_must_cover_every_year():
    with pytest.raises(ValueError, match="2023"):
        run([], years=(2024, 2023), gemeentecodes=codes(2024))


def test_ledger_notices_a_night_missing_from_the_r04_rejects(monkeypatch):
    """The rejects file's R04 rows and the rows behind rejected episodes are counted apart:
    a night lost between them unbalances the ledger."""
    from dakl_etl.transforms import delivery

    real = delivery.traced_nights
    monkeypatch.setattr(delivery, "traced_nights", lambda *a: real(*a).head(-1))
    rows = nights("bed", D(2024, 3, 1), 4, gemeente=OLD)
    d = run(rows, years=(2024,), gemeentecodes=codes(2024))
    assert not d.ledger["balanced"] and not d.ledger["sources"]["bed"]["balanced"]


def test_nights_of_a_person_without_bsn_are_found_after_renumbering():
    # persons without a valid BSN are numbered again across sources after the nights were
    # kept: the kept nights are renumbered the same way before they are matched
    rows = [
        row("a", 2, bsn=None, client_id="K0", gemeente="0363", start=D(2024, 1, 1)),
        *nights("bed", D(2024, 3, 1), 3, line=5, bsn=None, client_id="K1", gemeente=OLD),
        *nights("bed", D(2024, 3, 1), 2, line=9, bsn=None, gemeente=OLD),  # a row = a person
    ]
    d = run(rows, years=(2024,), gemeentecodes=codes(2024))
    assert [r[1] for r in r04_rejects(d)] == [5, 6, 7, 9, 10]
    assert set(d.rejects["bsn"].to_list()) == {"******999"}
    assert d.ledger["balanced"] and d.ledger["totals"]["rejected"] == {"R04": 5}


def test_renumbering_persons_without_their_keys_is_refused():
    """A source reduced without its other keys would give two sources' persons one number."""
    regs = pl.DataFrame({"_src": [0, 1], "person": [FIRST_OTHER_PERSON + 1] * 2, "group": [7, 7]})
    with pytest.raises(ValueError, match="no keys"):
        number_other_persons(regs, pl.DataFrame(schema={"_src": pl.Int32, **OTHER_KEYS_SCHEMA}))
    others = pl.DataFrame(
        {"_src": [0, 1], "person": [FIRST_OTHER_PERSON + 1] * 2, "other_key": ["V\x1f1", "C\x1fb"]}
    )
    assert number_other_persons(regs, others)["person"].to_list() == [
        FIRST_OTHER_PERSON + 2,  # "V…" ranks after "C…"
        FIRST_OTHER_PERSON + 1,
    ]


def test_released_sources_are_handed_over_and_give_the_same_delivery():
    rows = [
        *nights("bed", D(2024, 3, 1), 5, type_opvang="0201"),
        row("zaak", 2, start=D(2024, 2, 1), end=D(2024, 4, 1)),
    ]
    frame = conform(pl.DataFrame(rows, infer_schema_length=None))
    frames = {s: frame.filter(pl.col("source") == s) for s in ("bed", "zaak")}
    kept = derive(dict(frames), years=(2024,), now=NOW)
    released = derive(frames, years=(2024,), now=NOW, release_sources=True)
    assert frames == {}
    assert released.year_frame(2024).equals(kept.year_frame(2024))
    assert released.ledger == kept.ledger
