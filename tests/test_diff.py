"""`transforms.diff`: rows and persons added, removed, changed; masked examples."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dakl_etl.protocol.codes import UNKNOWN_BSN
from dakl_etl.protocol.fields import COLUMNS
from dakl_etl.transforms.diff import diff_deliveries
from synthetic import synthetic_bsns

BSNS = synthetic_bsns(40, seed=5)


def frame(rows, made="202504240900") -> pl.DataFrame:
    return pl.DataFrame([(made, *r) for r in rows], schema=list(COLUMNS), orient="row")


def row(bsn, *, gem="0363", type_="0301", start="20240105", end="20241231", reden="", v=""):
    return (gem, bsn, "", type_, start, end, reden, v)


def test_identical_deliveries_differ_only_in_aanmaakdatum():
    rows = [row(b) for b in BSNS[:5]]
    d = diff_deliveries(frame(rows), frame(rows, made="202505010900"))
    assert not d.changed
    assert d.rows == {"added": 0, "removed": 0, "changed": 0, "unchanged": 5, "old": 5, "new": 5}
    assert d.persons["unchanged"] == 5 and d.groups == []


def test_added_removed_changed_per_type_and_gemeente():
    old = [row(BSNS[0]), row(BSNS[1]), row(BSNS[2], gem="0518", type_="0201")]
    new = [
        row(BSNS[0]),
        row(BSNS[1], end="20240301", reden="19"),  # ended
        row(BSNS[3], gem="0518", type_="0201"),  # BSNS[2] left, BSNS[3] came
        row(BSNS[1], type_="0203", start="20240302"),  # a second episode of a known person
    ]
    d = diff_deliveries(frame(old), frame(new))
    assert d.rows == {"added": 2, "removed": 1, "changed": 1, "unchanged": 1, "old": 3, "new": 4}
    assert d.persons == {"added": 1, "removed": 1, "changed": 1, "unchanged": 1}
    assert d.fields_changed == {"einddatum": 1, "reden": 1}
    groups = {(g["type_opvang"], g["gemeentecode"]): g for g in d.groups}
    assert set(groups) == {("0301", "0363"), ("0201", "0518"), ("0203", "0363")}
    g = groups[("0201", "0518")]
    assert (g["rows_added"], g["rows_removed"], g["persons_added"], g["persons_removed"]) == (
        1,
        1,
        1,
        1,
    )
    # within 0203/0363 the person is new, although known elsewhere in the file
    assert groups[("0203", "0363")]["persons_added"] == 1
    assert groups[("0301", "0363")]["persons_changed"] == 1


def test_examples_are_masked_and_show_the_change():
    old = [row(BSNS[0], v="1234567890")]
    new = [row(BSNS[0], end="20240301", reden="21", v="1234567890"), row(BSNS[1])]
    d = diff_deliveries(frame(old), frame(new))
    changed = d.examples["changed"][0]
    assert changed["bsn"] == "******" + BSNS[0][-3:] and changed["v_nummer"] == "*******890"
    assert changed["einddatum"] == "20241231 -> 20240301"
    assert changed["reden"] == "(empty) -> 21"
    text = "\n".join(d.lines()) + repr(d.to_dict())
    assert BSNS[0] not in text and BSNS[1] not in text and "1234567890" not in text


def test_unknown_persons_are_rows_only_and_never_matched_as_changed():
    unknown = row(UNKNOWN_BSN)
    d = diff_deliveries(frame([unknown]), frame([unknown, unknown, row(UNKNOWN_BSN, end="")]))
    assert d.rows_without_person == {"added": 2, "removed": 0, "unchanged": 1}
    assert d.rows["changed"] == 0
    assert d.persons == {"added": 0, "removed": 0, "changed": 0, "unchanged": 0}


def test_unknown_bsn_with_v_nummer_is_a_person():
    old = [row(UNKNOWN_BSN, v="1234567890")]
    new = [row(UNKNOWN_BSN, v="1234567890", end="20240201")]
    d = diff_deliveries(frame(old), frame(new))
    assert d.rows["changed"] == 1 and d.persons["changed"] == 1


episode = st.builds(
    row,
    st.sampled_from([*BSNS[:8], UNKNOWN_BSN]),
    gem=st.sampled_from(["0363", "0518"]),
    type_=st.sampled_from(["0201", "0301"]),
    start=st.sampled_from(["20240101", "20240301"]),
    end=st.sampled_from(["", "20240401", "20241231"]),
    reden=st.sampled_from(["", "19"]),
    v=st.sampled_from(["", "1234567890"]),
)


@settings(max_examples=60, deadline=None)
@given(old=st.lists(episode, max_size=12), new=st.lists(episode, max_size=12))
def test_counts_balance_and_swap_symmetrically(old, new):
    d = diff_deliveries(frame(old), frame(new))
    r = d.rows
    assert r["old"] == len(old) and r["new"] == len(new)
    assert r["removed"] + r["changed"] + r["unchanged"] == len(old)
    assert r["added"] + r["changed"] + r["unchanged"] == len(new)
    back = diff_deliveries(frame(new), frame(old))
    assert back.rows["added"] == r["removed"] and back.rows["removed"] == r["added"]
    assert back.rows["changed"] == r["changed"]
    assert back.persons["added"] == d.persons["removed"]
    for status in ("added", "removed", "changed"):
        assert sum(g[f"rows_{status}"] for g in d.groups) == r[status]


@settings(max_examples=30, deadline=None)
@given(rows=st.lists(episode, max_size=12), seed=st.randoms())
def test_row_order_does_not_matter(rows, seed):
    shuffled = list(rows)
    seed.shuffle(shuffled)
    d = diff_deliveries(frame(rows), frame(shuffled))
    assert not d.changed and d.rows["unchanged"] == len(rows)


def _write(path, rows, made="202504240900"):
    from dakl_etl.protocol.fields import HEADER

    path.write_text(HEADER + "\n" + "".join(";".join((made, *r)) + "\n" for r in rows))
    return path


def test_cli_diff_text_and_json(tmp_path):
    import json

    from typer.testing import CliRunner

    from dakl_etl.cli import app

    old = _write(tmp_path / "DAKL_J2024.csv", [row(BSNS[0]), row(BSNS[1])])
    new = _write(
        tmp_path / "DAKL_J2024_b.csv",
        [row(BSNS[0], end="20240301", reden="19"), row(BSNS[2])],
        made="202505010900",
    )
    runner = CliRunner()
    text = runner.invoke(app, ["diff", str(old), str(new)])
    assert text.exit_code == 0, text.output
    assert "rows: 2 -> 2: +1 added, -1 removed, ~1 changed, 0 unchanged" in text.output
    assert "einddatum 20241231 -> 20240301" in text.output
    as_json = runner.invoke(
        app, ["diff", "--format", "json", "--examples", "0", str(old), str(new)]
    )
    data = json.loads(as_json.output)
    assert data["persons"] == {"added": 1, "removed": 1, "changed": 1, "unchanged": 0}
    assert data["examples"] == {}
    assert all(b not in text.output + as_json.output for b in BSNS[:3])


def test_cli_diff_of_an_unreadable_file_is_one_line_exit_2(tmp_path):
    import subprocess
    import sys

    old = _write(tmp_path / "DAKL_J2024.csv", [row(BSNS[0])])
    bad = tmp_path / "DAKL_J2024_bad.csv"
    bad.write_text("a;b\n1;2\n")
    done = subprocess.run(
        [sys.executable, "-m", "dakl_etl", "diff", str(old), str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert str(bad) in done.stderr


def test_cli_diff_notes_different_reporting_years(tmp_path):
    import subprocess
    import sys

    old = _write(tmp_path / "DAKL_J2023.csv", [row(BSNS[0])])
    new = _write(tmp_path / "DAKL_J2024.csv", [row(BSNS[0])])
    same_year = _write(tmp_path / "DAKL_J2024_b.csv", [row(BSNS[0])])

    def diff(a, b):
        return subprocess.run(
            [sys.executable, "-m", "dakl_etl", "diff", str(a), str(b)],
            capture_output=True,
            text=True,
            timeout=120,
        )

    across = diff(old, new)
    assert across.returncode == 0
    assert "different reporting years" in across.stderr
    assert "different reporting years" not in diff(new, same_year).stderr
