"""The signals' detail lines hide small counts as the tables do, and still say whether they fired.

A signal is judged on the real counts; what the page and the terminal summary quote of them is
hidden with the tables' own decision ("< 5", "x"), and a share, ratio or change computed from a
hidden count is not shown at all.
"""

from __future__ import annotations

import html
import re

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dakl_etl.protocol.codes import UNKNOWN_BSN
from dakl_etl.protocol.fields import COLUMNS
from dakl_etl.protocol.findings import Report
from dakl_etl.report import (
    SIGNAL_IDS,
    Delivery,
    DeliveryReport,
    Thresholds,
    render_html,
    render_summary,
    shown_key_figures,
)
from dakl_etl.report import figures as fig
from dakl_etl.report.html import NumberFormat, masks, signal_detail, small_limit
from dakl_etl.report.i18n import texts
from dakl_etl.report.signals import evaluate
from dakl_etl.report.suppression import (
    KEY_QUOTES,
    SIGNAL_COUNTS,
    SIGNAL_DERIVED,
    length_cell,
    type_cell,
    waiting_cell,
)
from synthetic import synthetic_bsns
from test_report import _row, row_strategy


def _frame(data: list[list[str]]) -> pl.DataFrame:
    return pl.DataFrame(data, schema=dict.fromkeys(COLUMNS, pl.String), orient="row")


def _report(
    now_rows: list[list[str]],
    before_rows: list[list[str]] | None = None,
    thresholds: Thresholds | None = None,
    small: int = 5,
) -> DeliveryReport:
    """A report straight from rows: the figures and signals `build_report` would give."""
    t = thresholds or Thresholds()
    now = fig.compute(_frame(now_rows), 2024)
    before = fig.compute(_frame(before_rows), 2023) if before_rows else None
    return DeliveryReport(
        now=Delivery("DAKL_J2024_test.csv", 2024, False, now),
        validation=Report("DAKL_J2024_test.csv", 2024, len(now_rows)),
        previous=Delivery("DAKL_J2023_test.csv", 2023, False, before) if before else None,
        signals=evaluate(now, before, t),
        thresholds=t,
        small_count_threshold=small,
    )


def _people(n: int, seed: int = 3) -> list[str]:
    return synthetic_bsns(n, seed=seed)


def _long(bsn: str, type_opvang: str = "0301") -> list[str]:
    """An episode of more than a year: 1 January 2023 to 1 March 2024."""
    return _row(bsn, type_opvang, start="20230101")


def _melding(bsn: str, melding: str) -> list[str]:
    return _row(bsn, melding=melding)  # the start is 5 January 2024


AFTER, BEFORE = "20240110", "20240101"  # melding after / before the start


# Each case: rows now, rows before (or None), whether the signal fires, and the small counts
# its detail line would quote.
def _cases() -> dict[str, tuple[list, list | None, bool, tuple[int, ...]]]:
    p = _people(200)
    return {
        "P01 fired, few persons now": (
            [_row(b) for b in p[:3]],
            [_row(b) for b in _people(40, seed=4)],
            True,
            (3,),
        ),
        "P02 fired, few persons": ([_row(b) for b in p[:3] for _ in range(8)], None, True, (3,)),
        "P03 quiet, 2 of 200 rows (0.1 %)": (
            [_row(b) for b in p[:198]] + [_row(UNKNOWN_BSN)] * 2,
            None,
            False,
            (2,),
        ),
        "P03 fired, 3 of 10 rows": (
            [_row(b) for b in p[:7]] + [_row(UNKNOWN_BSN)] * 3,
            None,
            True,
            (3,),
        ),
        "P05 fired, a type falls to 2 rows": (
            [_row(b, "0204") for b in p[:2]] + [_row(b, "0301") for b in p[40:80]],
            [_row(b, "0204") for b in p[:40]] + [_row(b, "0301") for b in p[40:80]],
            True,
            (2,),
        ),
        "P06 fired, 3 of 20": (
            [_melding(b, AFTER) for b in p[:3]] + [_melding(b, BEFORE) for b in p[3:20]],
            None,
            True,
            (3,),
        ),
        "P06 quiet, 2 of 100": (
            [_melding(b, AFTER) for b in p[:2]] + [_melding(b, BEFORE) for b in p[2:100]],
            None,
            False,
            (2,),
        ),
        "P07 fired, 2 of 6": (
            [_long(b) for b in p[:2]] + [_row(b) for b in p[2:6]],
            None,
            True,
            (2,),
        ),
        "P07 quiet, 3 of 40": (
            [_long(b) for b in p[:3]] + [_row(b) for b in p[3:40]],
            None,
            False,
            (3,),
        ),
        "P08 fired, 1 of 10": (
            [_long(p[0], "0201")]
            + [_row(b, "0201") for b in p[1:10]]
            + [_row(b, "0301") for b in p[10:40]],
            None,
            True,
            (1,),
        ),
    }


CASES = _cases()
_LIMIT = re.compile(r"(?:grens|limit|gebruikt =|used =) [^()]*\)")
_CODES = re.compile(rf"\b\d{{4}}:|{UNKNOWN_BSN}|ETHOS-Light 2")


def _numbers(detail: str) -> tuple[list[int], list[str]]:
    """The counts (whole numbers) and the shares/ratios a detail line quotes; thresholds,
    type codes, the unknown BSN and "ETHOS-Light 2" are no quotes and are left out."""
    text = _CODES.sub(" ", _LIMIT.sub("", detail))
    text = re.sub(r"< ?\d+", "<", text)  # the "< 5" label itself
    tokens = re.findall(r"[−+]?\d[\d.,]*%?(?: per perso(?:on|n))?", text)
    counts = [int(tok) for tok in tokens if tok.isdigit()]
    return counts, [tok for tok in tokens if not tok.isdigit()]


def _signal_rows(page: str) -> dict[str, tuple[str, str]]:
    """Signal id -> (status, detail) from the page's signal table."""
    body = page.split('<section id="signals">')[1].split("</section>")[0]
    out = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>")[1], re.S):
        cells = [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        out[cells[0]] = (cells[2], cells[3])
    return out


def _summary_details(summary: str) -> dict[str, str]:
    """Signal id -> detail of the fired signals in the terminal summary."""
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r"^    (P\d\d) [^:]+: (.*)$", summary, re.MULTILINE)
    }


def _hidden_phrases(lang: str) -> tuple[str, ...]:
    t = texts(lang)
    return (t["share_hidden"], t["change_hidden"], t["per_person_hidden"])


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_small_count_in_a_signal_is_hidden_and_the_verdict_shown(case):
    now_rows, before_rows, fires, small = CASES[case]
    signal_id = case[:3]
    report = _report(now_rows, before_rows)
    signal = next(s for s in report.signals if s.id == signal_id)
    assert signal.fired == fires, signal  # judged on the real counts
    for lang in ("nl", "en"):
        t = texts(lang)
        status, detail = _signal_rows(render_html(report, lang=lang))[signal_id]
        assert status == (t["fired"] if fires else t["quiet"])
        counts, shares = _numbers(detail)
        assert not set(counts) & set(range(1, 5)), detail  # no count 1 … 4 at all
        assert shares == [], detail  # no share, ratio or change of a hidden count
        assert "< 5" in detail and any(p in detail for p in _hidden_phrases(lang)), detail
        summary = _summary_details(render_summary(report, lang))
        assert (signal_id in summary) == fires  # the summary lists the fired ones
        if fires:
            assert summary[signal_id] == detail
    # --show-small-counts: everything as measured
    _, everything = _signal_rows(render_html(report, lang="en", suppress_small=False))[signal_id]
    counts, shares = _numbers(everything)
    assert set(small) <= set(counts) and shares, everything
    assert not any(p in everything for p in _hidden_phrases("en"))


def test_a_count_hidden_as_x_in_a_table_is_x_in_the_signal():
    p = _people(70)
    data = (
        [_melding(b, "20240102") for b in p[:2]]  # 3 days before the start: "1-7", small
        + [_melding(b, AFTER) for b in p[2:8]]  # after the start: "<0", 6, next smallest
        + [_melding(b, "20231216") for b in p[8:38]]  # 20 days before: "8-30"
        + [_row(b) for b in p[38:68]]  # no melding
    )
    report = _report(data)
    m, _ = masks(report, True)
    assert m.state(waiting_cell("1-7")) == "small" and m.state(waiting_cell("<0")) == "masked"
    status, detail = _signal_rows(render_html(report, lang="en"))["P06"]
    assert status == "look"  # 6 of 38 rows
    assert detail.startswith("x of the 38 rows with a Datum melding, share not shown")
    waiting = _table(render_html(report, lang="en"), "waiting")
    assert waiting["melding after start"] == "x"


def test_long_episodes_that_no_table_shows_are_not_given_away():
    """Long episodes also count those ended on an unknown date (the length table has them
    under "end date unknown"): 12 long against 10 in the table would say 2."""
    p = _people(60)
    unknown_end = [_row(b, start="20220101", end="", reden="") for b in p[:2]]
    short = [_row(b, end="20240120") for b in p[12:18]]  # 8-30 days: what the 2 take along
    data = unknown_end + [_long(b) for b in p[2:12]] + short + [_row(b) for b in p[18:60]]
    report = _report(data)
    assert report.now.figures.key.long_episodes == 12
    page = render_html(report, lang="en")
    assert _table(page, "lengths", 2)[">365"] == "10"  # ETHOS-Light 3
    status, detail = _signal_rows(page)["P07"]
    assert status == "fine"
    assert detail.startswith("x episodes, share not shown: small count"), detail
    everything = _signal_rows(render_html(report, lang="en", suppress_small=False))["P07"][1]
    assert everything.startswith("12 episodes, share 20.0%")


def _table(page: str, section: str, column: int = 1) -> dict[str, str]:
    body = page.split(f'<section id="{section}">')[1].split("</section>")[0]
    out = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>")[1], re.S):
        cells = [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        out[cells[0]] = cells[column]
    return out


def test_signal_counts_show_as_in_the_tables():
    """The same count in a table and in a signal: the same text, previous delivery included."""
    now_rows, before_rows, _, _ = CASES["P05 fired, a type falls to 2 rows"]
    report = _report(now_rows, before_rows)
    page = render_html(report, lang="en")
    signals = _signal_rows(page)
    key_now, key_before = _table(page, "key", 1), _table(page, "key", 2)
    persons = "Unique persons with a BSN"
    assert signals["P01"][1].startswith(f"{key_now[persons]} against {key_before[persons]} (")
    per_type = _table(page, "per-type", 1)
    row = next(label for label in per_type if label.startswith("0204 "))
    previous = _table(page, "per-type", 2)[row]
    assert per_type[row] == "< 5"
    assert signals["P05"][1].startswith(f"0204: {previous} → < 5 (change not shown")


def test_thresholds_years_and_codes_still_show():
    report = _report(*CASES["P05 fired, a type falls to 2 rows"][:2])
    rows = _signal_rows(render_html(report, lang="en"))
    assert rows["P05"][1].endswith("(limit ± 50% and ± 25 rows)")
    assert rows["P04"][1] == "absent: none (used = at least 10 rows)"
    assert rows["P03"][1].startswith("0 rows with BSN 999999999, share 0.0%")
    dutch = _signal_rows(render_html(report))["P02"][1]
    assert dutch.endswith("1,0 per persoon (grens 4,0 per persoon)")


def test_key_figures_for_the_log_are_hidden_as_on_the_page():
    now_rows, before_rows, _, _ = CASES["P08 fired, 1 of 10"]
    report = _report(now_rows, before_rows)
    shown = shown_key_figures(report)
    key = report.now.figures.key
    assert shown["long_episodes_ethos2"] == "< 5" and key.long_episodes_ethos2 == 1
    assert shown["rows"] == key.rows == 40 and shown["gemeenten"] == 1
    assert set(shown) == set(key.as_dict())
    assert shown_key_figures(report, suppress_small=False) == key.as_dict()
    # the JSON form is documented as unsuppressed and stays so
    p08 = next(s for s in report.to_dict()["signals"] if s["id"] == "P08")
    assert p08["measured"]["episodes"] == 1


def test_every_count_a_signal_measures_is_declared():
    """A count added to `Signal.measured` must say where the tables show it, or it would
    reach the page unhidden."""
    now = fig.compute(_frame([_row()]), 2024)
    for signal in evaluate(now, now, Thresholds()):
        declared = set(SIGNAL_COUNTS.get(signal.id, {})) | set(SIGNAL_DERIVED.get(signal.id, {}))
        numbers = {k for k, v in signal.measured.items() if isinstance(v, int | float)}
        assert numbers <= declared, signal.id
        for sources in SIGNAL_DERIVED.get(signal.id, {}).values():
            assert set(sources) <= set(SIGNAL_COUNTS[signal.id]), signal.id
    assert {s.id for s in evaluate(now, now, Thresholds())} == set(SIGNAL_IDS)


# -- properties over random small deliveries -------------------------------------------------

deliveries = st.lists(row_strategy, min_size=1, max_size=30)
shares = st.sampled_from([0.0, 0.02, 0.1, 0.5])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deliveries, deliveries, shares, shares, st.sampled_from([3, 5, 10]))
def test_the_quotes_of_the_signals_are_where_the_tables_say(now_rows, before_rows, s, long, n):
    """`KEY_QUOTES` and `SIGNAL_COUNTS` name the table cells each quoted count is: checked on
    the real figures, so a table cell hidden means the quoted count is hidden."""
    t = Thresholds(max_unknown_bsn_share=s, max_long_share=long, min_type_rows=1)
    report = _report(now_rows, before_rows, t, n)
    m, mb = masks(report, True)
    key = report.now.figures.key.as_dict()
    for name, quote in KEY_QUOTES.items():
        if quote.exact:
            assert quote.value(m) == key[name], name
        else:  # more than the cells: a remainder no table shows
            assert quote.value(m) <= key[name], name
    for signal in report.signals:
        for name, quote in SIGNAL_COUNTS.get(signal.id, {}).items():
            if name in signal.measured and signal.judged:
                masked = mb if quote.previous else m
                assert masked is not None
                if quote.exact:
                    assert quote.value(masked) == signal.measured[name], (signal.id, name)
                else:
                    assert quote.value(masked) <= signal.measured[name], (signal.id, name)


def _share_of_hidden(report: DeliveryReport, signal_id: str) -> bool:
    """Whether a count a signal's share or ratio comes from is hidden in the tables (or is
    small and in no table), written out here apart from `SIGNAL_COUNTS`."""
    m, mb = masks(report, True)
    k = report.now.figures.key
    persons, rows = ("key", "persons_bsn"), ("key", "rows")
    hidden = {
        "P01": [m.hidden(persons), mb is not None and mb.hidden(persons)],
        "P02": [m.hidden(rows), m.hidden(persons)],
        "P03": [m.hidden(("key", "rows_unknown_bsn")), m.hidden(rows)],
        "P06": [m.hidden(waiting_cell("<0")), 0 < k.rows_with_melding < m.small],
        "P07": [0 < k.long_episodes < m.small, m.hidden(rows)],
        "P08": [
            m.hidden(length_cell(">365", "02")),
            m.hidden(type_cell("ethos", "02", "rows")),
        ],
    }
    return any(hidden.get(signal_id, []))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deliveries, st.one_of(st.none(), deliveries), shares, shares, st.sampled_from([3, 5, 10]))
@example(  # a type of the previous delivery falls to a small count: P05 fires
    [_row(b, "0204") for b in _people(2)],
    [_row(b, "0204") for b in _people(30)],
    0.25,
    0.25,
    5,
)
def test_no_small_count_hidden_in_the_tables_appears_in_a_signal(now_rows, before_rows, s, long, n):
    t = Thresholds(
        max_unknown_bsn_share=s,
        max_melding_after_start_share=s,
        max_long_share=long,
        max_long_share_ethos2=long,
        min_rows_for_rows_per_person=1,
        max_rows_per_person=1.0,
        min_type_rows=5,
        min_type_change_rows=1,
    )
    report = _report(now_rows, before_rows, t, n)
    m, mb = masks(report, True)
    summaries = {lang: _summary_details(render_summary(report, lang)) for lang in ("nl", "en")}
    for signal in report.signals:
        for lang in ("nl", "en"):
            f = NumberFormat(lang, small_limit(report, True))
            detail = signal_detail(signal, f, m, mb)
            counts, quoted_shares = _numbers(detail)
            # every count 1 … n-1 is hidden: in the tables as "< n", here the same
            assert not set(counts) & set(range(1, n)), (signal.id, detail)
            if _share_of_hidden(report, signal.id):
                assert quoted_shares == [], (signal.id, detail)
            if signal.fired:  # the verdict stays, in the summary with the same line
                assert summaries[lang][signal.id] == detail
            else:
                assert signal.id not in summaries[lang]
        if signal.id == "P05":  # per type: no change next to a hidden count of that type
            for x in signal.measured.get("types", []):
                c = type_cell("type", x["code"], "rows")
                part = re.search(
                    rf"{x['code']}: ([^;]*)", signal_detail(signal, NumberFormat("en", n), m, mb)
                ).group(1)
                if m.hidden(c) or (mb is not None and mb.hidden(c)):
                    assert "%" not in part.split("(limit")[0], part
