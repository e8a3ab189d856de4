"""The delivery report: figures, plausibility signals, the page and the CLI."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dakl_etl.cli import main
from dakl_etl.protocol.bsn import is_valid_bsn
from dakl_etl.protocol.codes import TYPE_OPVANG
from dakl_etl.protocol.fields import COLUMNS, HEADER
from dakl_etl.report import (
    SIGNAL_IDS,
    Thresholds,
    build_report,
    render_html,
    render_summary,
    write_report,
)
from dakl_etl.report import figures as fig
from dakl_etl.report.html import verdict_text
from synthetic import bsn_strategy, invalid_bsn, synthetic_bsns, v_nummer_strategy
from test_report_data import Spec, delivery, rows, sample_deliveries, write_dakl

PYTHON = sys.executable
HEADER_LINE = (HEADER + "\r\n").encode()


def _frame(data: list[list[str]]) -> pl.DataFrame:
    return pl.DataFrame(data, schema=dict.fromkeys(COLUMNS, pl.String), orient="row")


def _row(
    bsn="900000002",
    type_opvang="0301",
    start="20240105",
    end="20240301",
    reden="19",
    v="",
    melding="",
    gemeente="0363",
) -> list[str]:
    return ["202503010930", gemeente, bsn, melding, type_opvang, start, end, reden, v]


# --- figures ------------------------------------------------------------------------------


def test_key_figures_count_what_the_protocol_means():
    a, b = synthetic_bsns(2, seed=7)
    data = _frame(
        [
            _row(a),
            _row(a, "0201"),
            _row(b, end="20241231", reden=""),  # b open at year end
            _row("999999999", v="1234567890"),
            _row("999999999", v="1234567890"),  # one person
            _row("999999999"),
            _row("999999999"),  # two persons: no V-nummer, never merged
            _row(invalid_bsn(a), end=""),  # invalid BSN, end unknown
        ]
    )
    k = fig.compute(data, 2024).key
    assert (k.rows, k.persons_bsn, k.rows_unknown_bsn, k.persons_unknown_bsn) == (8, 2, 4, 3)
    assert (k.rows_invalid_bsn, k.rows_with_v_nummer, k.rows_without_v_nummer) == (1, 2, 6)
    assert (k.open_at_year_end, k.end_unknown, k.gemeenten) == (1, 1, 1)


def test_per_type_counts_a_person_once_per_category():
    (a,) = synthetic_bsns(1, seed=3)
    per_type = fig.compute(
        _frame([_row(a, "0301"), _row(a, "0302"), _row(a, "0201")]), 2024
    ).per_type
    lookup = {(lv, c): (r, p) for lv, c, r, p in per_type.rows()}
    assert lookup[("ethos", "03")] == (2, 1)
    assert lookup[("type", "0301")] == (1, 1)
    assert lookup[("ethos", "02")] == (1, 1)
    assert lookup[("total", "")] == (3, 1)
    assert lookup[("type", "0204")] == (0, 0)  # every type listed, also unused ones


def test_open_episode_is_no_end_in_december_and_later_end_is_after():
    data = _frame(
        [
            _row(end="20241231", reden=""),
            _row(end="20250110", reden="19"),
            _row(start="20231201", end="20240110"),
        ]
    )
    months = dict(
        zip(
            *fig.compute(data, 2024)
            .per_month.select("period", "ends")
            .to_dict(as_series=False)
            .values(),
            strict=True,
        )
    )
    assert months["open"] == 1 and months["12"] == 0 and months["after"] == 1
    assert months["01"] == 1


def test_lengths_and_waiting_buckets():
    data = _frame(
        [
            _row(start="20240101", end="20240105", melding="20240101"),  # 4 days, waits 0
            _row(start="20240101", end="20240501", melding="20231201"),  # 121 days, waits 31
            _row(start="20220101", end="20241231", reden="", melding="20240201"),  # long, after
        ]
    )
    f = fig.compute(data, 2024)
    lengths = dict(f.lengths.select("bucket", "03").rows())
    assert (lengths["0-7"], lengths["91-180"], lengths[">365"]) == (1, 1, 1)
    waiting = dict(f.waiting.rows())
    assert (waiting["0"], waiting["31-90"], waiting["<0"], waiting["none"]) == (1, 1, 1, 0)
    assert f.key.melding_after_start == 1 and f.key.long_episodes == 1


row_strategy = st.builds(
    lambda bsn, kind, v, t, start, length, melding, gem: _row(
        bsn=bsn if kind == 0 else "999999999" if kind == 1 else invalid_bsn(bsn),
        type_opvang=t,
        start=start.strftime("%Y%m%d"),
        end="" if length is None else (start + length).strftime("%Y%m%d"),
        reden="" if length is None else "19",
        v=v,
        melding=melding,
        gemeente=gem,
    ),
    bsn_strategy,
    st.sampled_from([0, 0, 1, 2]),
    st.one_of(st.just(""), v_nummer_strategy),
    st.sampled_from([*TYPE_OPVANG, "0202"]),
    st.dates(
        min_value=__import__("datetime").date(2022, 1, 1),
        max_value=__import__("datetime").date(2024, 12, 31),
    ),
    st.one_of(
        st.none(),
        st.timedeltas(
            min_value=__import__("datetime").timedelta(0),
            max_value=__import__("datetime").timedelta(days=900),
        ),
    ),
    st.sampled_from(["", "20240101", "2024x101"]),
    st.sampled_from(["0363", "0599", ""]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row_strategy, min_size=1, max_size=40))
def test_every_row_is_accounted_for_in_every_table(data):
    f = fig.compute(_frame(data), 2024)
    n = len(data)
    assert f.key.rows == n
    total = f.per_type.filter(pl.col("level") == "total")
    assert total["rows"].item() == n
    assert f.per_type.filter(pl.col("level") == "type")["rows"].sum() == n
    assert f.per_type.filter(pl.col("level") == "ethos")["rows"].sum() == n
    assert f.per_gemeente["rows"].sum() == n
    assert f.per_month["starts"].sum() == n and f.per_month["ends"].sum() == n
    assert f.lengths.select(pl.exclude("bucket")).sum_horizontal().sum() == n
    assert f.waiting["rows"].sum() == n and f.reden["rows"].sum() == n
    # persons with a BSN: python-stdnum's verdict as the reference
    assert f.key.persons_bsn == len({r[2] for r in data if is_valid_bsn(r[2])})
    assert total["persons"].item() == f.key.persons_bsn


# --- plausibility signals -------------------------------------------------------------------

NORMAL = Spec()
PREVIOUS = Spec(year=2023, seed=2)
CRAFTED: dict[str, tuple[Spec, Spec | None]] = {
    "P01": (Spec(persons=100), PREVIOUS),
    "P02": (Spec(persons=40, episodes_per_person=(6, 8)), None),
    "P03": (Spec(unknown_share=0.5), None),
    "P04": (Spec(types={c: w for c, w in NORMAL.types.items() if c != "0204"}), PREVIOUS),
    "P05": (Spec(types=NORMAL.types | {"0201": 60}), PREVIOUS),
    "P06": (Spec(melding_after_start_share=0.5), None),
    "P07": (Spec(long_share=0.6), None),
    "P08": (Spec(long_ethos2_share=0.2), None),
}


def _report(tmp_path: Path, spec: Spec, previous: Spec | None = None, **options):
    now = delivery(tmp_path, spec)
    before = delivery(tmp_path, previous) if previous else None
    return build_report(now, previous=before, **options)


@pytest.fixture(scope="module")
def normal_report(tmp_path_factory):
    return _report(tmp_path_factory.mktemp("normal"), NORMAL, PREVIOUS)


def test_catalogue_of_signals_is_complete():
    assert set(CRAFTED) == set(SIGNAL_IDS)


@pytest.mark.parametrize("signal_id", sorted(CRAFTED))
def test_signal_fires_on_crafted_delivery(tmp_path, signal_id):
    spec, previous = CRAFTED[signal_id]
    report = _report(tmp_path, spec, previous)
    assert report.accepted  # signals are about plausibility, not validity
    assert signal_id in {s.id for s in report.fired}, [s for s in report.signals]


def test_signals_stay_quiet_on_a_normal_delivery(normal_report):
    assert normal_report.accepted
    assert normal_report.now.figures.key.rows == normal_report.validation.rows
    assert normal_report.fired == []
    assert all(s.judged for s in normal_report.signals)


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> dict[int, Path]:
    return sample_deliveries(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="module")
def sample_report(sample):
    return build_report(sample[2024], previous=sample[2023])


def test_signals_stay_quiet_on_the_sample_delivery(sample_report):
    assert sample_report.accepted
    assert sample_report.fired == []
    assert sample_report.previous is not None and sample_report.previous.year == 2023


def test_signals_needing_a_previous_delivery_say_so(tmp_path):
    report = _report(tmp_path, NORMAL)
    assert {s.id for s in report.signals if not s.judged} == {"P01", "P04", "P05"}
    assert "vorige levering nodig" in render_html(report)


def test_thresholds_are_parameters(tmp_path):
    spec, _ = CRAFTED["P03"]
    report = _report(tmp_path, spec, thresholds=Thresholds(max_unknown_bsn_share=0.9))
    assert "P03" not in {s.id for s in report.fired}


def test_type_change_names_the_type(tmp_path):
    spec, previous = CRAFTED["P05"]
    report = _report(tmp_path, spec, previous)
    p05 = next(s for s in report.signals if s.id == "P05")
    assert [t["code"] for t in p05.measured["types"]] == ["0201"]
    assert "0201:" in render_html(report)


# --- the page -------------------------------------------------------------------------------


def _personal_values(path: Path) -> set[str]:
    data = path.read_text().splitlines()[1:]
    fields = [line.split(";") for line in data]
    return ({f[2] for f in fields if f[2]} | {f[8] for f in fields if f[8]}) - {"999999999"}


def test_page_holds_no_bsn_or_v_nummer_not_even_masked(tmp_path):
    data = rows(Spec(persons=60, unknown_share=0.3))
    real = next(r for r in data if r[2] != "999999999")
    real[2] = invalid_bsn(real[2])  # an R06 finding whose value must not reach the page
    path = write_dakl(tmp_path, data)
    report = build_report(path)
    assert not report.accepted
    for page in (
        render_html(report),
        render_html(report, lang="en", suppress_small=False),
        render_summary(report),
    ):
        for value in _personal_values(path):
            assert value not in page
            assert value[-3:] + "<" not in page  # the masked tail next to markup
        assert "******" not in page
        assert not re.search(r"\d{9}", page.replace("999999999", ""))


def test_page_holds_no_bsn_from_a_shifted_column(tmp_path):
    data = rows(Spec(persons=10))
    bsn = data[0][2]
    data[0][1], data[0][2] = bsn, data[0][1]  # BSN and gemeentecode swapped
    report = build_report(write_dakl(tmp_path, data))
    for page in (render_html(report), render_summary(report)):
        assert bsn not in page and bsn[-3:] + "<" not in page


@pytest.fixture(scope="module")
def normal_page(normal_report) -> str:
    return render_html(normal_report)


def test_page_is_self_contained(normal_page):
    page = normal_page
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert not re.search(r"""\b(src|href)\s*=\s*["'](?!#)""", page)  # only in-page links
    assert not re.search(r"url\((?!#)", page)
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # four inline SVGs in one document: ids must not clash
    assert all(re.fullmatch(r"[A-Za-z][\w.-]*", i) for i in ids)
    refs = set(re.findall(r"url\(#([^)]+)\)", page)) | set(re.findall(r'href="#([^"]+)"', page))
    assert refs <= set(ids)
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert page.count("<svg") == 4
    assert "@media print" in page and "size: A4" in page


def test_page_is_deterministic(normal_report, normal_page):
    assert render_html(normal_report) == normal_page


def test_small_counts_are_suppressed_and_can_be_shown(tmp_path):
    report = _report(tmp_path, Spec(persons=30, unknown_share=0.1, seed=5))
    small = report.now.figures.key.rows_unknown_bsn
    assert 0 < small < 5
    hidden = render_html(report)
    shown = render_html(report, suppress_small=False)
    assert "&lt; 5" in hidden and "&lt; 5" not in shown
    assert "<pattern" in hidden and "<pattern" not in shown  # charts: hatched stand-in bars
    cell = f'<td class="num">{small}</td>'
    assert cell in shown and cell not in hidden
    assert "< 5" in render_summary(report)
    path = delivery(tmp_path, Spec(persons=30, seed=5))
    report = build_report(path, small_count_threshold=3)
    assert "&lt; 3" in render_html(report) and "1 tot en met 2" in render_html(report)
    unsuppressed = build_report(path, small_count_threshold=1)
    assert "&lt;" not in render_html(unsuppressed).split("<body>")[1].split("<svg")[0]


def test_verdict_and_findings_per_rule(tmp_path):
    data = rows(Spec(persons=20))
    data[3][4] = "0202"  # R10, line 5
    data[5][5] = "20240231"  # R11, line 7
    report = build_report(write_dakl(tmp_path, data))
    nl, en = render_html(report), render_html(report, lang="en")
    assert "Wordt afgekeurd: 2 fout(en) in 2 regel(s) (R10, R11)" in nl
    assert "Will be rejected: 2 error(s) on 2 line(s) (R10, R11)" in en
    assert "<td>R10</td><td>fout</td>" in nl
    assert '<td class="num">1</td><td>5</td>' in nl  # count and line, small count not hidden
    assert "Type ingezette opvang is een code uit het protocol" in nl


def test_accepted_verdict_in_both_languages(normal_report):
    assert verdict_text(normal_report, "nl") == "Klaar om aan te leveren"
    assert verdict_text(normal_report, "en") == "Ready to deliver"
    assert '<html lang="en">' in render_html(normal_report, lang="en")


def test_previous_delivery_side_by_side(normal_report, normal_page):
    page = normal_page
    assert "DAKL_J2023_test.csv (2023, 2024-03-01 09:30)" in page
    assert "<dd>2025-03-01 09:30</dd>" in page  # Aanmaakdatum: how CBS tells deliveries apart
    k, p = normal_report.now.figures.key, normal_report.previous.figures.key
    change = k.rows - p.rows
    sign = "+" if change > 0 else "−" if change < 0 else ""
    assert f'<td class="num">{p.rows}</td><td class="num">{sign}{abs(change)}</td>' in page


def test_unreadable_file_still_gets_a_verdict(tmp_path):
    path = tmp_path / "DAKL_J2024_broken.csv"
    path.write_bytes(b"Aanmaakdatum bestand;Gemeentecode\r\n1;2\r\n")
    report = build_report(path)
    assert not report.accepted and not report.now.readable
    page = render_html(report)
    assert "F04" in page and "niet te lezen" in page


def test_unreadable_previous_delivery_is_named_not_compared(tmp_path):
    broken = tmp_path / "DAKL_J2023_broken.csv"
    broken.write_bytes(b"Aanmaakdatum bestand;Gemeentecode\r\n1;2\r\n")
    report = build_report(delivery(tmp_path), previous=broken)
    assert report.previous is not None and not report.previous.readable
    assert {s.id for s in report.signals if not s.judged} == {"P01", "P04", "P05"}
    page = render_html(report)
    assert "niet te lezen: zonder vergelijking" in page
    assert "Vorige levering" not in page  # no columns of zeros beside the figures
    summary = render_summary(report)
    assert "(niet te lezen: zonder vergelijking)" in summary.splitlines()[0]
    assert "vorige levering" not in summary


def test_write_report_is_atomic_and_readable(tmp_path):
    out = tmp_path / "report.html"
    report = write_report(delivery(tmp_path), out, lang="en")
    assert report.accepted and out.read_text().startswith("<!DOCTYPE html>")
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# --- the command ---------------------------------------------------------------------------


def _cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """The console entry point in-process: exit code, stdout, stderr."""
    monkeypatch.setattr(sys, "argv", ["dakl-etl", "report", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    captured = capsys.readouterr()
    return exit_.value.code, captured.out, captured.err


def test_cli_entry_point_runs_as_a_program(tmp_path):
    done = subprocess.run(
        [
            PYTHON,
            "-m",
            "dakl_etl",
            "report",
            str(delivery(tmp_path)),
            "-o",
            str(tmp_path / "r.html"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Klaar om aan te leveren" in done.stdout and (tmp_path / "r.html").exists()


def test_cli_warns_when_previous_cannot_be_read(tmp_path, monkeypatch, capsys):
    broken = tmp_path / "oud.yaml"
    broken.write_text("- not: a delivery\n")
    code, _, err = _cli(monkeypatch, capsys, str(delivery(tmp_path)), "--previous", str(broken))
    assert code == 0
    assert "--previous" in err and "not a readable DAKL file" in err


def test_cli_writes_page_and_summary(tmp_path, monkeypatch, capsys):
    now, before = delivery(tmp_path, NORMAL), delivery(tmp_path, PREVIOUS)
    code, out, err = _cli(monkeypatch, capsys, str(now), "--previous", str(before))
    assert code == 0, err
    page = tmp_path / "DAKL_J2024_test.report.html"
    assert page.exists()
    assert "Oordeel: Klaar om aan te leveren" in out
    assert "Unieke personen met BSN" in out and str(page) in out


def test_cli_rejected_file_exits_1_and_options(tmp_path, monkeypatch, capsys):
    data = rows(Spec(persons=20, unknown_share=0))
    data[0][2] = invalid_bsn(data[0][2])
    path = write_dakl(tmp_path, data)
    page = tmp_path / "r.html"
    code, out, err = _cli(
        monkeypatch, capsys, str(path), "-o", str(page), "--lang", "en", "--show-small-counts"
    )
    assert code == 1, err
    assert "Will be rejected" in out and "R06" in page.read_text()
    assert data[0][2] not in out + err + page.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv"], "not found"),
        (
            ["{file}", "--threshold", "max_unknwn_bsn_share=0.3"],
            "did you mean max_unknown_bsn_share",
        ),
        (["{file}", "--threshold", "max_type_change=lots"], "is not a number"),
        (["{file}", "-o", "{dir}/nope/r.html"], "directory does not exist"),
        (["{file}", "--threshold", "max_unknown_bsn_share=25"], "a share between 0 and 1"),
        (["{file}", "--previous", "{dir}"], "is a directory"),
        (["{file}", "-o", "{file}"], "that is a delivery file"),
        (["{file}", "-o", "/proc/r.html"], "cannot write the report"),  # was internal error
        (["{file}", "--year", "2101"], "from 2000 to 2100"),
        (["{file}", "--reference", "{dir}"], "is a directory"),
    ],
)
def test_cli_usage_errors_are_one_line(tmp_path, monkeypatch, capsys, args, message):
    path = delivery(tmp_path)
    code, _, err = _cli(monkeypatch, capsys, *[a.format(file=path, dir=tmp_path) for a in args])
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


# --- signals as properties: each fires exactly when its measure passes its threshold ----------

share = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(row_strategy, min_size=1, max_size=40),
    share,
    share,
    share,
    st.floats(min_value=0.5, max_value=6.0),
)
def test_signals_fire_exactly_past_their_threshold(data, unknown, melding, long, per_person):
    from dakl_etl.report.signals import evaluate

    t = Thresholds(
        max_unknown_bsn_share=unknown,
        max_melding_after_start_share=melding,
        max_long_share=long,
        max_rows_per_person=per_person,
        min_rows_for_rows_per_person=1,
    )
    f = fig.compute(_frame(data), 2024)
    fired = {s.id for s in evaluate(f, None, t) if s.fired}
    n = len(data)
    unknown_rows = sum(r[2] == "999999999" for r in data)
    assert ("P03" in fired) == (unknown_rows / n > unknown)
    persons = len({r[2] for r in data if is_valid_bsn(r[2])})
    assert ("P02" in fired) == ((n / persons if persons else n) > per_person)
    dated = [r for r in data if re.fullmatch(r"\d{8}", r[3])]
    after = sum(r[3] > r[5] for r in dated)
    assert ("P06" in fired) == (bool(dated) and after / len(dated) > melding)


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(st.sampled_from(sorted(TYPE_OPVANG)), st.integers(0, 120), min_size=1),
    st.dictionaries(st.sampled_from(sorted(TYPE_OPVANG)), st.integers(0, 120), min_size=1),
)
def test_type_signals_compare_each_type_with_the_previous(now_rows, before_rows):
    from dakl_etl.report.signals import evaluate

    def figures(counts: dict[str, int]) -> fig.Figures:
        (bsn,) = synthetic_bsns(1, seed=11)
        data = [_row(bsn, code) for code, k in counts.items() for _ in range(k)]
        return fig.compute(_frame(data or [_row(bsn)]), 2024)

    t = Thresholds()
    signals = {s.id: s for s in evaluate(figures(now_rows), figures(before_rows), t)}
    now_rows = now_rows if sum(now_rows.values()) else {"0301": 1}
    before_rows = before_rows if sum(before_rows.values()) else {"0301": 1}
    used = {c for c, k in before_rows.items() if k >= t.min_type_rows}
    absent = sorted(c for c in used if not now_rows.get(c))
    assert signals["P04"].measured["types"] == absent and signals["P04"].fired == bool(absent)
    jumped = sorted(
        c
        for c in used
        if now_rows.get(c)
        and abs(now_rows[c] / before_rows[c] - 1) > t.max_type_change
        and abs(now_rows[c] - before_rows[c]) >= t.min_type_change_rows
    )
    assert [x["code"] for x in signals["P05"].measured["types"]] == jumped


def test_translations_cover_every_key_and_rule():
    from dakl_etl.protocol.rules import RULES
    from dakl_etl.report import i18n

    assert set(i18n.TEXTS["nl"]) == set(i18n.TEXTS["en"])
    assert set(i18n.RULE_TITLES_NL) == set(RULES) == set(i18n.RULE_HINTS_NL)
    # The English glosses name exactly the protocol's codes (a new code needs a gloss).
    from dakl_etl.protocol.codes import ETHOS_CATEGORY, REDEN_BEEINDIGING

    assert set(i18n._TYPE_EN) == set(TYPE_OPVANG)
    assert set(i18n._REDEN_EN) == set(REDEN_BEEINDIGING)
    assert set(i18n._ETHOS_EN) == set(ETHOS_CATEGORY)
    assert {f"{s}_detail" for s in SIGNAL_IDS} | set(SIGNAL_IDS) <= set(i18n.TEXTS["nl"])


@pytest.mark.parametrize("content", [b"", HEADER_LINE], ids=["empty", "header-only"])
def test_delivery_without_rows_is_rejected_with_empty_figures(tmp_path, content):
    path = tmp_path / "DAKL_J2024_leeg.csv"
    path.write_bytes(content)
    report = build_report(path)
    assert not report.accepted and "F07" in report.validation.counts
    assert report.now.figures.key.rows == 0 and report.fired == []
    assert "Wordt afgekeurd: 1 fout(en) (F07)" in render_html(report)


def test_year_from_the_data_when_the_name_has_none(tmp_path):
    path = delivery(tmp_path, Spec(year=2023), name="levering.csv")
    report = build_report(path)
    assert report.now.year == 2023 and report.now.year_from_data
    assert "F01" in report.validation.counts  # the name is wrong, and the page says so
    assert "afgeleid uit de startdata" in render_html(report)
    assert build_report(path, year=2023).now.year_from_data is False


def test_english_summary(normal_report):
    text = render_summary(normal_report, "en")
    assert text.splitlines()[1] == "  Verdict: Ready to deliver"
    assert "Unique persons with a BSN" in text and "Plausibility: no signals" in text


def test_sample_report_holds_no_personal_number(sample, sample_report):
    from privacy_scan import scan

    numbers: set[str] = set()
    for path in sample.values():
        for line in path.read_text().splitlines()[1:]:
            fields = line.split(";")
            numbers |= {fields[2], fields[8]} - {"", "999999999"}
    blobs = {
        "nl": render_html(sample_report),
        "en": render_html(sample_report, lang="en", suppress_small=False),
        "summary": render_summary(sample_report, suppress_small=False),
        "json": json.dumps(sample_report.to_dict()),
    }
    assert scan(numbers, blobs=blobs) == []


def test_json_rendering_has_the_same_figures(normal_report):
    data = json.loads(json.dumps(normal_report.to_dict()))
    assert data["accepted"] is True and data["now"]["year"] == 2024
    assert data["now"]["key"] == normal_report.now.figures.key.as_dict()
    assert [s["id"] for s in data["signals"]] == list(SIGNAL_IDS)
    assert data["previous"]["file"] == "DAKL_J2023_test.csv"
