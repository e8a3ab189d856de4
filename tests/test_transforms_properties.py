"""Properties over random sources: the ledger balances, episodes match a plain-Python
reference merge, never overlap, clamped ends are never before the start, dedup is idempotent.

The sources sometimes carry a gemeentecode that existed in 2023 but not in 2024 (`OLD`) or in
neither (`GONE`): such episodes are withheld from the years their code did not exist in (R04),
and the ledger still accounts for every row."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dakl_etl.canonical import conform
from dakl_etl.transforms.delivery import derive
from dakl_etl.transforms.episodes import EpisodeSettings
from dakl_etl.transforms.ledger import registration_outcomes
from dakl_etl.transforms.years import FILE_ORDER, _dedup_ordered, dedup, in_file, year_rows
from synthetic import invalid_bsn, reference, synthetic_bsns

POOL = synthetic_bsns(3, seed=11)
NOW = dt.datetime(2025, 2, 10, 8, 30)
FIRST = dt.date(2022, 10, 1)
YEARS = (2024, 2023)
OLD, GONE = "0123", "0005"  # merged away on 1 January 2024; gone since 2019
REFERENCE = reference(
    (OLD, "Oudgemeente", "Zuid-Holland", dt.date(1970, 1, 1), dt.date(2024, 1, 1)),
    (GONE, "Bedum", "Groningen", dt.date(1970, 1, 1), dt.date(2019, 1, 1)),
)
CODES = {y: REFERENCE.codes_in_year(y) for y in YEARS}


@st.composite
def source_rows(draw):
    n = draw(st.integers(0, 40))
    rows = []
    for i in range(n):
        source = draw(st.sampled_from(["a", "b", "bed"]))
        night = source == "bed"
        start = FIRST + dt.timedelta(days=draw(st.integers(0, 900)))
        length = draw(st.integers(0, 60))
        end_kind = draw(st.sampled_from(["end", "end", "open", "unknown", "none"]))
        bsn = draw(st.sampled_from([*POOL, POOL[0], None, "999999999", invalid_bsn(POOL[1])]))
        rows.append(
            dict(
                source=source,
                source_row=i + 2,
                granularity="night" if night else "episode",
                bsn=bsn,
                v_nummer=draw(st.sampled_from([None, None, "0000000001"])),
                client_id=draw(st.sampled_from([None, "K1", "K2"])),
                type_opvang=draw(st.sampled_from(["0201", "0301", "0301"])),
                gemeentecode=draw(st.sampled_from(["0363", "0363", "0599", "0599", OLD, GONE])),
                startdatum=start,
                einddatum=start
                if night
                else (start + dt.timedelta(days=length) if end_kind == "end" else None),
                ended_unknown=(end_kind == "unknown") and not night,
                reden=draw(st.sampled_from([None, "19", "21"])),
                excluded=draw(st.sampled_from([None] * 9 + ["type_opvang: Beschermd wonen"])),
                reject_code=draw(st.sampled_from([None] * 9 + ["R04"])),
            )
        )
    return rows


def derive_rows(rows, gap, policy):
    schema = {"startdatum": pl.Date, "einddatum": pl.Date}
    frame = conform(
        pl.DataFrame(rows, schema_overrides=schema, infer_schema_length=None)
        if rows
        else pl.DataFrame()
    )
    frames = {s: frame.filter(pl.col("source") == s) for s in ("a", "b", "bed")}
    return derive(
        frames,
        years=YEARS,
        now=NOW,
        settings=EpisodeSettings(merge_gap_days=gap),
        invalid_bsn=policy,
        gemeentecodes=CODES,
    )


def _valid(bsn):
    return bsn in POOL


def reference_episodes(rows, gap, policy):
    """The RULES.md merge, written the slow obvious way: (type, gemeente, start, open, rows)."""
    today = NOW.date()
    live = []
    for r in rows:
        if r["excluded"] or r["reject_code"]:
            continue
        bad = r["bsn"] not in (None, "999999999") and not _valid(r["bsn"])
        if bad and policy == "reject":
            continue
        if _valid(r["bsn"]):
            key = ("B", r["bsn"])
        elif r["v_nummer"]:
            key = ("V", r["v_nummer"])
        elif r["client_id"]:
            key = ("C", r["source"], r["client_id"])
        else:
            key = ("R", r["source"], r["source_row"])
        live.append((key, r))
    regs = []  # (group, start, end or None, open, n_rows)
    night_groups = defaultdict(list)
    for key, r in live:
        group = (key, r["type_opvang"], r["gemeentecode"])
        if r["granularity"] == "night":
            night_groups[(r["source"], group)].append(r["startdatum"])
            continue
        is_open = (r["einddatum"] is None and not r["ended_unknown"]) or (
            r["einddatum"] is not None and r["einddatum"] > today
        )
        end = None if is_open else r["einddatum"]
        regs.append((group, r["startdatum"], end, is_open, 1))
    for (_source, group), days in night_groups.items():
        days.sort()
        run = [days[0]]
        for d in days[1:]:
            if (d - run[-1]).days > 1 + gap:
                regs.append(_night_run(group, run, today, gap))
                run = []
            run.append(d)
        regs.append(_night_run(group, run, today, gap))
    by_group = defaultdict(list)
    for reg in regs:
        by_group[reg[0]].append(reg)
    episodes = []
    far = dt.date(9000, 1, 1)
    for group, items in by_group.items():
        items.sort(key=lambda g: (g[1], far if g[3] else (g[2] or g[1])))
        current = None
        for _g, start, end, is_open, n in items:
            eff = far if is_open else (end or start)
            if current and start <= current["latest"] + dt.timedelta(days=1 + gap):
                current["latest"] = max(current["latest"], eff)
                current["open"] |= is_open
                current["rows"] += n
            else:
                current = {
                    "group": group,
                    "start": start,
                    "latest": eff,
                    "open": is_open,
                    "rows": n,
                }
                episodes.append(current)
    return Counter(
        (e["group"][1], e["group"][2], e["start"], e["open"], e["rows"]) for e in episodes
    )


def _night_run(group, run, today, gap):
    is_open = (today - run[-1]).days <= 1 + gap
    return (group, run[0], None if is_open else run[-1], is_open, len(run))


common = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@common
@given(rows=source_rows(), gap=st.integers(0, 3), policy=st.sampled_from(["reject", "unknown"]))
def test_ledger_balances_and_counts_every_row_once(rows, gap, policy):
    d = derive_rows(rows, gap, policy)
    assert d.ledger["balanced"]
    read = Counter(r["source"] for r in rows)
    for name, entry in d.ledger["sources"].items():
        assert entry["read"] == read[name]
        assert entry["read"] == (
            entry["delivered"]
            + sum(entry["rejected"].values())
            + entry["excluded"]
            + entry["outside_years"]
        )
        assert entry["registered"] == (
            entry["delivered"] + entry["outside_years"] + entry["rejected_after_registration"]
        )
    assert d.ledger["totals"]["read"] == len(rows)
    early = sum(1 for r in rows if r["excluded"] or r["reject_code"]) + (
        sum(
            1
            for r in rows
            if not r["excluded"] and not r["reject_code"] and r["bsn"] == invalid_bsn(POOL[1])
        )
        if policy == "reject"
        else 0
    )
    late = d.ledger["totals"]["rejected_after_registration"]
    assert d.rejects.height == early + late
    # every source row at most once in the rejects file
    assert d.rejects.select("source", "source_row").is_unique().all()
    # R04 after registration: only rows whose code did not exist in one of the years
    by_line = {(r["source"], r["source_row"]): r for r in rows}
    after = d.rejects.filter(pl.col("message").is_not_null())
    assert after.height == late
    for r in after.iter_rows(named=True):
        source_row = by_line[(r["source"], r["source_row"])]
        assert (r["rule"], r["field"]) == ("R04", "gemeentecode")
        assert r["value"] == source_row["gemeentecode"] in (OLD, GONE)
    # a row with a code that existed in no year is never delivered
    gone = [r for r in rows if r["gemeentecode"] == GONE]
    if gone and not any(r["gemeentecode"] != GONE for r in rows):
        assert d.ledger["totals"]["delivered"] == 0


@common
@given(rows=source_rows(), gap=st.integers(0, 3), policy=st.sampled_from(["reject", "unknown"]))
def test_episodes_equal_the_reference_merge(rows, gap, policy):
    d = derive_rows(rows, gap, policy)
    got = Counter(
        (r["type_opvang"], r["gemeentecode"], r["startdatum"], r["is_open"], r["n_rows"])
        for r in d.episodes.iter_rows(named=True)
    )
    assert got == reference_episodes(rows, gap, policy)


@common
@given(rows=source_rows(), gap=st.integers(0, 3))
def test_episodes_of_one_person_type_gemeente_never_overlap(rows, gap):
    d = derive_rows(rows, gap, "reject")
    eps = d.episodes.sort("person", "type_opvang", "gemeentecode", "startdatum")
    previous: dict = {}
    for r in eps.iter_rows(named=True):
        key = (r["person"], r["type_opvang"], r["gemeentecode"])
        if key in previous:
            latest = previous[key]
            assert latest is not None, "an open episode is followed by another"
            assert r["startdatum"] > latest + dt.timedelta(days=1 + gap)
        end = None if r["is_open"] else (r["einddatum"] or r["startdatum"])
        previous[key] = (
            end
            if key not in previous or previous[key] is None
            else (None if end is None else max(previous[key], end))
        )


@common
@given(rows=source_rows(), gap=st.integers(0, 3))
def test_year_rows_obey_the_year_rules(rows, gap):
    d = derive_rows(rows, gap, "unknown")
    for y in YEARS:
        frame = d.years[y]
        last = dt.date(y, 12, 31)
        for r in frame.iter_rows(named=True):
            assert r["startdatum"] <= last
            assert r["bsn"] == "999999999" or r["bsn"] in POOL
            if r["einddatum"] is None:
                assert r["ended_unknown"] and r["startdatum"].year == y
            else:
                assert r["einddatum"] >= r["startdatum"]
                assert r["einddatum"] >= dt.date(y, 1, 1)
            if r["is_open"]:
                assert r["einddatum"] == last and r["reden"] is None
        keys = frame.select("person", "type_opvang", "gemeentecode", "startdatum")
        assert keys.is_unique().all()
        assert frame.height == d.episodes.filter(in_file(y, CODES)).height
        assert set(frame["gemeentecode"].to_list()) <= CODES[y]


@common
@given(rows=source_rows(), gap=st.integers(0, 3))
def test_dedup_is_idempotent_and_keeps_unknown_persons_apart(rows, gap):
    d = derive_rows(rows, gap, "unknown")
    frame = d.years[2024]
    doubled = pl.concat([frame, frame]).lazy()
    once = dedup(doubled).collect()
    assert dedup(once.lazy()).collect().equals(once)
    assert once.height == frame.height
    unknown_persons = frame.filter(pl.col("bsn") == "999999999")["person"].n_unique()
    assert once.filter(pl.col("bsn") == "999999999")["person"].n_unique() == unknown_persons


@common
@given(rows=source_rows(), gap=st.integers(0, 3))
def test_year_files_are_each_years_rows_and_dedup_in_file_order_compares_neighbours(rows, gap):
    d = derive_rows(rows, gap, "unknown")
    for y in YEARS:
        assert d.years[y].equals(year_rows(d.episodes.lazy(), y, CODES).collect())
    # every row twice, each copy in file order right behind its row (where a stable sort puts
    # equal keys); `copy` tells the two apart
    doubled = (
        pl.concat([d.years[2024].with_columns(copy=pl.lit(c)) for c in (0, 1)])
        .sort(*FILE_ORDER, maintain_order=True)
        .lazy()
    )
    kept = _dedup_ordered(doubled).collect()
    assert kept.equals(dedup(doubled).collect())
    assert kept["copy"].sum() == 0


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(rows=source_rows(), gap=st.integers(0, 3), policy=st.sampled_from(["reject", "unknown"]))
def test_every_derived_year_file_passes_the_validator(rows, gap, policy):
    from dakl_etl.outputs.writer import dakl_bytes, dakl_file_name, format_dakl
    from dakl_etl.validation import validate_bytes

    d = derive_rows(rows, gap, policy)
    for y in YEARS:
        frame = d.year_frame(y)
        if frame.height == 0:
            continue
        data = dakl_bytes(format_dakl(frame, NOW))
        report = validate_bytes(data, dakl_file_name(y, "prop"), year=y, gemeenten=REFERENCE)
        assert report.errors == 0, report.to_dict()["counts"]


# --- the ledger's look-up of each registration's episode ---------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_episodes_looked_up_by_position_count_as_the_join_does(data):
    """Registrations find their episode by position when episodes are numbered 1..N in order
    (as the run makes them), else by a join: the same counts either way, also for episodes
    that are missing (no bucket: the ledger must not balance then)."""
    n = data.draw(st.integers(1, 6))
    numbers = data.draw(
        st.one_of(st.just(list(range(1, n + 1))), st.lists(st.integers(0, 8), min_size=1))
    )
    numbers = sorted(set(numbers))
    episodes = pl.DataFrame(
        {
            "episode": numbers,
            "delivered": data.draw(
                st.lists(st.booleans(), min_size=len(numbers), max_size=len(numbers))
            ),
            "rejected_r04": data.draw(
                st.lists(st.booleans(), min_size=len(numbers), max_size=len(numbers))
            ),
        },
        schema={"episode": pl.Int64, "delivered": pl.Boolean, "rejected_r04": pl.Boolean},
    )
    rows = data.draw(
        st.lists(
            st.tuples(st.integers(0, 1), st.sampled_from([*numbers, 0, 9]), st.integers(1, 5)),
            min_size=1,
            max_size=12,
        )
    )
    regs = pl.DataFrame(
        rows, schema={"_src": pl.Int32, "episode": pl.Int64, "n_rows": pl.Int64}, orient="row"
    )
    key = ["source", "bucket"]
    eager = registration_outcomes(regs, episodes, ["a", "b"]).collect().sort(key, nulls_last=True)
    joined = registration_outcomes(regs.lazy(), episodes.lazy(), ["a", "b"]).collect()
    assert eager.equals(joined.sort(key, nulls_last=True))
    assert eager["rows"].sum() == regs["n_rows"].sum()
