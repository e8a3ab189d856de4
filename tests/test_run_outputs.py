"""The rejects file and the ledger outputs: shape, modes, messages, the printed table."""

from __future__ import annotations

import json
import stat

import polars as pl

from dakl_etl.outputs.ledger import ledger_file_name, render_ledger, write_ledger
from dakl_etl.outputs.rejects import COLUMNS, rejects_file_name, write_rejects

LEDGER = {
    "years": [2024],
    "balanced": True,
    "sources": {
        "zaken": {
            "read": 10,
            "delivered": 6,
            "rejected": {"R11": 1},
            "excluded": 2,
            "outside_years": 1,
            "registered": 7,
            "balanced": True,
        },
    },
    "totals": {
        "read": 10,
        "delivered": 6,
        "rejected": {"R11": 1},
        "excluded": 2,
        "outside_years": 1,
        "registered": 7,
        "balanced": True,
    },
    "flow": {
        "rows_read": 10,
        "night_rows": 0,
        "registrations": 7,
        "night_runs": 0,
        "episodes": 5,
        "episodes_delivered": 4,
        "conflicts": 2,
        "rows_per_year": {"2024": 4},
    },
}


def test_ledger_table_shows_every_bucket_and_the_flow():
    text = render_ledger(LEDGER)
    lines = text.splitlines()
    assert lines[0].split() == [
        "source",
        "read",
        "delivered",
        "rejected",
        "excluded",
        "outside",
        "balance",
    ]
    assert lines[1].split() == ["zaken", "10", "6", "1", "2", "1", "ok"]
    assert "rejected by rule: R11 1" in text
    assert "episodes 5" in text and "J2024 4" in text
    assert "conflicts" in text


def test_unbalanced_ledger_is_shouted():
    bad = json.loads(json.dumps(LEDGER))
    bad["balanced"] = False
    bad["sources"]["zaken"]["balanced"] = False
    text = render_ledger(bad)
    assert "WRONG" in text and "DOES NOT BALANCE" in text


def test_ledger_json_is_counts_only_and_team_readable(tmp_path):
    path = write_ledger(LEDGER, tmp_path / ledger_file_name("regio"))
    assert path.name == "ledger_regio.json"
    assert json.loads(path.read_text(encoding="utf-8")) == LEDGER
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_rejects_file_is_private_semicolon_utf8_with_the_fix(tmp_path):
    rejects = pl.DataFrame(
        {
            "source": ["zaken", "zaken", "bed"],
            "source_row": [12, 40, 7],
            "outcome": ["rejected", "excluded", "rejected"],
            "rule": ["R11", "excluded", "R06"],
            "field": ["startdatum", None, "bsn"],
            "value": ["31-02-2024", "type_opvang: Beschermd wonen", "******820"],
            "bsn": ["******601", "******793", "******820"],
        }
    )
    path = write_rejects(rejects, tmp_path / rejects_file_name("regio"))
    assert path.name == "rejects_regio.csv"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    back = pl.read_csv(path, separator=";", infer_schema=False)
    assert tuple(back.columns) == COLUMNS
    messages = dict(zip(back["rule"], back["message"], strict=True))
    assert "dates:" in messages["R11"]
    assert "persons.invalid_bsn" in messages["R06"]
    assert "nothing to fix" in messages["excluded"]


def test_rejects_file_never_holds_a_full_bsn_even_when_given_one(tmp_path):
    """The writer masks again: a caller that forgot to mask does not leak into the file."""
    bsn, v_nummer = "123456782", "1234567890"
    rejects = pl.DataFrame(
        {
            "source": ["zaken", "zaken", "zaken"],
            "source_row": [3, 4, 5],
            "outcome": ["rejected"] * 3,
            "rule": ["R06", "R18", "R11"],
            "field": ["bsn", "v_nummer", "startdatum"],
            "value": [bsn, f"v {v_nummer}", "31-02-2024"],
            "bsn": [bsn, "******820", None],
        }
    )
    path = write_rejects(rejects, tmp_path / "rejects.csv")
    text = path.read_text(encoding="utf-8")
    assert bsn not in text and v_nummer not in text
    back = pl.read_csv(path, separator=";", infer_schema=False)
    assert back["value"].to_list() == ["******782", "*********890", "31-02-2024"]  # masked whole
    assert back["bsn"].to_list() == ["******782", "******820", None]


def test_empty_rejects_file_still_has_its_header(tmp_path):
    empty = pl.DataFrame(
        schema={
            "source": pl.String,
            "source_row": pl.Int64,
            "outcome": pl.String,
            "rule": pl.String,
            "field": pl.String,
            "value": pl.String,
            "bsn": pl.String,
        }
    )
    path = write_rejects(empty, tmp_path / rejects_file_name())
    assert path.read_text(encoding="utf-8") == ";".join(COLUMNS) + "\n"
