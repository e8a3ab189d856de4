"""docs/signals.md is generated from the signal declarations, and those match what runs."""

from __future__ import annotations

import dataclasses
import re
import runpy
from pathlib import Path

import polars as pl

from dakl_etl.protocol.fields import COLUMNS
from dakl_etl.report import figures as fig
from dakl_etl.report.i18n import TEXTS
from dakl_etl.report.signals import SIGNAL_IDS, SIGNALS, Thresholds, evaluate

REPO = Path(__file__).resolve().parents[1]
GENERATOR = REPO / "docs" / "gen_signals.py"


def _figures() -> fig.Figures:
    row = ["202503010930", "0363", "999999999", "", "0301", "20240105", "20240301", "19", ""]
    return fig.compute(
        pl.DataFrame([row], schema=dict.fromkeys(COLUMNS, pl.String), orient="row"), 2024
    )


def test_docs_signals_md_is_current():
    generator = runpy.run_path(str(GENERATOR))
    current = (REPO / "docs" / "signals.md").read_text(encoding="utf-8")
    assert current == generator["render"](), "run: python docs/gen_signals.py"


def test_check_mode_fails_on_a_stale_page(tmp_path, capsys):
    main = runpy.run_path(str(GENERATOR))["main"]
    stale = tmp_path / "signals.md"
    stale.write_text("# Plausibility signals\n", encoding="utf-8")
    main.__globals__["TARGET"] = stale
    assert main(["--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert main([]) == 0 and main(["--check"]) == 0


def test_every_signal_and_threshold_is_declared_and_documented():
    assert (
        tuple(SIGNALS)
        == SIGNAL_IDS
        == tuple(s.id for s in evaluate(_figures(), None, Thresholds()))
    )
    fields = {f.name: f for f in dataclasses.fields(Thresholds)}
    named = {name for spec in SIGNALS.values() for name in spec.thresholds}
    assert named == set(fields)  # no threshold without a signal, none unknown
    assert all(f.metadata.get("doc") for f in fields.values())
    for spec in SIGNALS.values():
        assert spec.checks and spec.why and spec.todo
        # thresholds named in the text are this signal's own
        assert set(re.findall(r"`(\w+)`", spec.checks)) <= set(spec.thresholds), spec.id
        for lang in TEXTS:
            assert spec.id in TEXTS[lang]


def test_declarations_match_what_the_signals_do():
    now = _figures()
    without = {s.id: s for s in evaluate(now, None, Thresholds())}
    assert {i for i, s in without.items() if not s.judged} == {
        i for i, spec in SIGNALS.items() if spec.needs_previous
    }
    with_previous = evaluate(now, now, Thresholds())
    for signal in with_previous:
        assert signal.judged
        assert set(signal.limits) <= set(SIGNALS[signal.id].thresholds), signal.id


def test_readme_links_the_signals_page():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "(docs/signals.md)" in readme
