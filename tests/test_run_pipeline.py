"""`dakl-etl run` end to end on the sample pipeline: files the validator accepts, rejects with
the planted defects, a balanced ledger, reproducible bytes, no BSN outside the DAKL files."""

from __future__ import annotations

import datetime as dt
import json
import re
import stat
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from dakl_etl.cli.run import summary
from dakl_etl.config import load_pipeline
from dakl_etl.errors import ExitCode, SourceError, UsageError
from dakl_etl.pipeline import run as run_module
from dakl_etl.pipeline.run import LedgerUnbalanced, parse_now, run, years_for
from dakl_etl.sources import input_size
from dakl_etl.validation import read_dakl, validate_file

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "pipelines" / "sample.yaml"
NOW = dt.datetime(2025, 4, 24, 9, 0)
pytestmark = pytest.mark.skipif(not SAMPLE.exists(), reason="pipelines/sample.yaml not present")


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    events: list[tuple[str, dict]] = []
    outcome = run(
        SAMPLE,
        out=out,
        now=NOW,
        with_previous_year=True,
        on_event=lambda name, fields: events.append((name, fields)),
    )
    return outcome, out, events


def test_sample_run_writes_both_years_that_the_validator_accepts(sample_run):
    outcome, _, _ = sample_run
    assert outcome.exit_code == ExitCode.OK
    assert sorted(outcome.dakl_paths) == [2023, 2024]
    for year, path in outcome.dakl_paths.items():
        assert path.name == f"DAKL_J{year}_regioVoorbeeld.csv"
        report = validate_file(path)
        assert report.accepted, report.to_dict()
        assert report.rows == outcome.rows_per_year[year] > 0
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        frame = read_dakl(path)
        assert frame["aanmaakdatum"].unique().to_list() == ["202504240900"]


def test_sample_rejects_carry_the_planted_defects(sample_run):
    outcome, _, _ = sample_run
    rejects = pl.read_csv(outcome.rejects_path, separator=";", infer_schema=False)
    assert stat.S_IMODE(outcome.rejects_path.stat().st_mode) == 0o600
    rules = set(rejects["rule"].to_list())
    assert {"R06", "R10", "R11", "excluded"} <= rules
    assert rejects["source_line"].null_count() == 0 and rejects["source"].null_count() == 0
    assert rejects["message"].null_count() == 0
    assert rejects.height == outcome.rejected_rows + outcome.excluded_rows


def test_sample_ledger_balances_and_is_stored(sample_run):
    outcome, _, _ = sample_run
    ledger = json.loads(outcome.ledger_path.read_text(encoding="utf-8"))
    assert ledger == outcome.ledger
    assert ledger["balanced"]
    for entry in ledger["sources"].values():
        assert entry["read"] == (
            entry["delivered"]
            + sum(entry["rejected"].values())
            + entry["excluded"]
            + entry["outside_years"]
        )
    assert ledger["flow"]["rows_per_year"] == {
        "2024": outcome.rows_per_year[2024],
        "2023": outcome.rows_per_year[2023],
    }


def test_no_bsn_or_v_nummer_outside_the_dakl_files(sample_run):
    outcome, out, events = sample_run
    personal: set[str] = set()
    for path in outcome.dakl_paths.values():
        frame = read_dakl(path)
        personal |= set(frame["bsn"].to_list()) - {"999999999"}
        personal |= set(frame["v_nummer"].drop_nulls().to_list()) - {""}
    assert personal
    texts = [p.read_text(encoding="utf-8") for p in out.iterdir() if not p.name.startswith("DAKL_")]
    texts.append(repr(events))
    texts.append(repr(outcome.conflict_examples))
    for text in texts:
        found = set(re.findall(r"\d{9,10}", text)) & personal
        assert not found


def test_events_name_each_step(sample_run):
    _, _, events = sample_run
    names = [name for name, _ in events]
    assert names[0] == "run_started" and names[-1] == "run_finished"
    assert {"source_rows", "episodes", "validated", "written"} <= set(names)


def test_same_inputs_and_now_give_byte_identical_files(sample_run, tmp_path):
    outcome, first, _ = sample_run
    again = run(SAMPLE, out=tmp_path, now=NOW, with_previous_year=True)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in tmp_path.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (tmp_path / name).read_bytes(), name
    assert again.ledger == outcome.ledger


def test_dry_run_writes_nothing(tmp_path):
    outcome = run(SAMPLE, out=tmp_path / "out", now=NOW, dry_run=True)
    assert outcome.exit_code == ExitCode.OK and not outcome.delivered
    assert not (tmp_path / "out").exists()
    assert outcome.rows_per_year[2024] > 0 and outcome.ledger["balanced"]


def test_validation_errors_block_the_delivery_but_rejects_and_ledger_are_written(tmp_path):
    # 2010: no episode reaches that year, an empty file is an F07 error
    outcome = run(SAMPLE, out=tmp_path, now=NOW, year=2010, with_previous_year=False)
    assert outcome.exit_code == ExitCode.REJECTED
    assert outcome.reports[2010].error_counts["F07"] >= 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ledger_regioVoorbeeld.json",
        "rejects_regioVoorbeeld.csv",
    ]


def test_unbalanced_ledger_refuses_to_write(tmp_path, monkeypatch):
    real = run_module.combine

    def lossy(*args, **kwargs):
        derived = real(*args, **kwargs)
        entry = next(iter(derived.ledger["sources"].values()))
        entry["delivered"] -= 1
        entry["balanced"] = False
        derived.ledger["balanced"] = False
        return derived

    monkeypatch.setattr(run_module, "combine", lossy)
    with pytest.raises(LedgerUnbalanced, match="does not balance"):
        run(SAMPLE, out=tmp_path, now=NOW)
    assert [p.name for p in tmp_path.iterdir()] == ["ledger_regioVoorbeeld.json"]


def test_years_and_now_options():
    from dakl_etl.config import load_pipeline

    pipeline = load_pipeline(SAMPLE)
    assert years_for(pipeline, year=2025, with_previous_year=False) == [2025]
    assert years_for(pipeline, year=2025, with_previous_year=True) == [2025, 2024]
    assert parse_now("2025-04-24T09:00") == NOW
    with pytest.raises(UsageError, match="YYYY-MM-DDTHH:MM"):
        parse_now("24-04-2025 09:00")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dakl_etl", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_cli_run_prints_the_ledger_and_validate_accepts_the_files(tmp_path):
    done = _cli(
        "run",
        str(SAMPLE),
        "--out",
        str(tmp_path),
        "--now",
        "2025-04-24T09:00",
        "--with-previous-year",
        "--log-format",
        "text",
    )
    assert done.returncode == 0, done.stderr
    assert "balance" in done.stdout and "total" in done.stdout
    assert "J2024:" in done.stdout and "J2023:" in done.stdout
    # the nightly wrapper puts the files in OUT/runs/<ts>/ and links OUT/latest
    files = sorted(
        str(p) for p in [*tmp_path.glob("DAKL_J*.csv"), *tmp_path.glob("latest/DAKL_J*.csv")]
    )
    assert len(files) == 2
    checked = _cli("validate", *files)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_cli_bad_now_is_one_line_exit_2(tmp_path):
    done = _cli("run", str(SAMPLE), "--out", str(tmp_path), "--now", "tomorrow")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "YYYY-MM-DDTHH:MM" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_missing_pipeline_is_exit_2_without_traceback(tmp_path):
    done = _cli("run", str(tmp_path / "nope.yaml"), "--out", str(tmp_path))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "nope.yaml" in done.stderr


def test_cli_unwritable_output_is_one_line_exit_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    done = _cli("run", str(SAMPLE), "--out", str(blocker / "out"), "--now", "2025-04-24T09:00")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and str(blocker) in done.stderr


def test_sample_under_the_unknown_policy_delivers_the_invalid_bsn_as_999999999(tmp_path):
    from dakl_etl.config import load_pipeline
    from dakl_etl.pipeline.run import run_into

    pipeline = load_pipeline(SAMPLE)
    pipeline = pipeline.model_copy(
        update={"persons": pipeline.persons.model_copy(update={"invalid_bsn": "unknown"})}
    )
    outcome = run_into(pipeline, tmp_path, years=[2024, 2023], now=NOW)
    assert outcome.exit_code == ExitCode.OK
    assert "R06" not in outcome.ledger["totals"]["rejected"]
    assert outcome.ledger["flow"]["invalid_bsn_delivered_as_unknown"] >= 1
    assert outcome.ledger["balanced"]
    for path in outcome.dakl_paths.values():
        assert validate_file(path).accepted


# --- R04: a gemeentecode that existed in one reporting year and not the other ----------------

R04_PIPELINE = """\
delivery:
  free_text: r04
  year: {year}
  with_previous_year: true
  output: out
  reference: {reference}
mappings:
  type_opvang: {{24-uursopvang: "0301"}}
sources:
  zaken:
    kind: csv
    path: zaken.csv
    columns: {{bsn: BSN, gemeente: Gemeente, type_opvang: Type, startdatum: Begin,
              einddatum: Eind}}
  bed:
    kind: csv
    path: bed.csv
    granularity: night
    columns: {{bsn: BSN, datum: Datum, gemeente: Gemeente}}
    constants: {{type_opvang: "0201"}}
"""


@pytest.fixture(params=["replaced-list-2024", "shipped-list-2023"])
def r04_case(request, tmp_path):
    """A region whose sources still use the code of a municipality that merged on 1 January
    of the reporting year: with a reference list updated by the user (a merger on 2024-01-01,
    J2024 + J2023), and with the shipped list (Brielle, 0501, merged into Voorne aan Zee on
    2023-01-01: J2023 + J2022)."""
    from dakl_etl.reference import default_reference_path
    from synthetic import synthetic_bsns

    if request.param == "replaced-list-2024":
        year, old = 2024, "0123"
        reference = tmp_path / "gemeenten.csv"
        reference.write_text(
            default_reference_path().read_text(encoding="utf-8")
            + f"{old};Oudgemeente;Zuid-Holland;1970-01-01;2024-01-01\n",
            encoding="utf-8",
        )
        reference_yaml = "gemeenten.csv"
    else:
        year, old = 2023, "0501"
        reference, reference_yaml = default_reference_path(), "null"
    b = synthetic_bsns(4, seed=404)
    (tmp_path / "zaken.csv").write_text(
        "BSN;Gemeente;Type;Begin;Eind\n"
        + f"{b[0]};{old};24-uursopvang;{year - 1}-06-01;{year}-02-01\n"  # line 2: both years
        + f"{b[1]};{old};24-uursopvang;{year}-03-01;{year}-04-01\n"  # line 3: only the year
        + f"{b[2]};0363;24-uursopvang;{year}-01-10;{year}-05-01\n",  # line 4: fine
        encoding="utf-8",
    )
    (tmp_path / "bed.csv").write_text(
        "BSN;Datum;Gemeente\n"
        + "".join(f"{b[3]};{year}-06-0{d};{old}\n" for d in (1, 2, 3))  # lines 2-4: the year
        + f"{b[3]};{year}-07-01;0363\n",  # line 5: fine
        encoding="utf-8",
    )
    path = tmp_path / "r04.yaml"
    path.write_text(R04_PIPELINE.format(year=year, reference=reference_yaml), encoding="utf-8")
    return path, year, old, reference, b


def test_code_gone_in_the_year_is_withheld_and_the_run_delivers(r04_case, tmp_path):
    from dakl_etl.cli.run import summary
    from dakl_etl.reference import load_gemeenten

    path, year, old, reference, bsns = r04_case
    events: list[tuple[str, dict]] = []
    outcome = run(path, out=tmp_path / "out", now=NOW, on_event=lambda n, f: events.append((n, f)))
    assert outcome.exit_code == ExitCode.OK, outcome.reports
    assert sorted(outcome.dakl_paths) == [year - 1, year]
    gemeenten = load_gemeenten(reference)
    for y, file in outcome.dakl_paths.items():
        report = validate_file(file, year=y, gemeenten=gemeenten)
        assert report.accepted and report.errors == 0, report.to_dict()
    this_year = read_dakl(outcome.dakl_paths[year])
    previous = read_dakl(outcome.dakl_paths[year - 1])
    assert old not in this_year["gemeentecode"].to_list()
    assert previous["gemeentecode"].to_list() == [old]  # line 2, delivered in the year before

    ledger = outcome.ledger
    assert ledger["balanced"]
    zaken, bed = ledger["sources"]["zaken"], ledger["sources"]["bed"]
    assert (zaken["delivered"], zaken["rejected"], zaken["outside_years"]) == (2, {"R04": 1}, 0)
    assert (bed["delivered"], bed["rejected"], bed["outside_years"]) == (1, {"R04": 3}, 0)
    assert ledger["totals"]["rejected_after_registration"] == 4
    assert ledger["flow"]["withheld_r04_rows_per_year"] == {str(year): 3, str(year - 1): 0}

    rejects = pl.read_csv(outcome.rejects_path, separator=";", infer_schema=False)
    assert rejects.height == outcome.rejected_rows + outcome.excluded_rows == 4
    assert list(zip(rejects["source"], rejects["source_line"], strict=True)) == [
        ("bed", "2"),
        ("bed", "3"),
        ("bed", "4"),
        ("zaken", "3"),
    ]
    assert set(rejects["rule"]) == {"R04"} and set(rejects["field"]) == {"gemeentecode"}
    assert set(rejects["value"]) == {old}
    for message in rejects["message"]:
        assert f"did not exist in {year} " in message and "mappings.gemeente" in message

    warnings = [f for name, f in events if name == "withheld_r04"]
    assert all(f["level"] == "warning" for f in warnings)
    assert any(f.get("year") == year and f["rows"] == 3 for f in warnings)
    assert any("year" not in f and f["rows"] == 4 for f in warnings)
    text = summary(outcome)
    assert f"withheld R04 ×3: gemeentecode did not exist in {year}" in text
    assert f"rows withheld from J{year} 3; source rows in no file: 4" in text
    written = [p.read_text(encoding="utf-8") for p in (tmp_path / "out").iterdir()]
    outside = [t for t in written if not t.startswith("Aanmaakdatum")] + [repr(events), text]
    assert len(outside) == 4  # rejects, ledger, events, summary
    assert not any(bsn in t for bsn in bsns for t in outside)


def test_an_empty_previous_year_is_left_out_with_a_warning_not_a_block(tmp_path):
    """The sample starts in 2022: a re-delivery of 2021 has no rows, which no DAKL file may
    have (F07). The reporting year is delivered; 2021 gets a warning instead of a file."""
    events: list[tuple[str, dict]] = []
    outcome = run_module.run_into(
        load_pipeline(SAMPLE),
        tmp_path,
        years=[2022, 2021],
        now=NOW,
        on_event=lambda name, fields: events.append((name, fields)),
    )
    assert outcome.exit_code == ExitCode.OK and outcome.rows_per_year[2022] > 0
    assert outcome.empty_previous_years == [2021] and 2021 not in outcome.reports
    assert sorted(outcome.dakl_paths) == [2022]
    assert not list(tmp_path.glob("DAKL_J2021_*"))
    (warning,) = [f for name, f in events if name == "empty_year"]
    assert warning["level"] == "warning" and warning["year"] == 2021
    assert "J2021: 0 rows — no episode falls in 2021" in summary(outcome)


def test_an_empty_reporting_year_still_blocks(tmp_path):
    outcome = run(SAMPLE, out=tmp_path, now=NOW, year=2010, with_previous_year=True)
    assert outcome.exit_code == ExitCode.REJECTED and outcome.empty_previous_years == [2009]
    assert outcome.reports[2010].error_counts["F07"] >= 1


def _recording_reads(monkeypatch, fail: str | None = None) -> list[tuple[str, str]]:
    """`run_module.read_source` wrapped: ("start", name) and ("loaded", name) as they happen;
    the source `fail` raises instead of being read."""
    events: list[tuple[str, str]] = []
    real = run_module.read_source

    def recording(name, pipeline, *, gemeenten, on_loaded=None):
        events.append(("start", name))
        if name == fail:
            raise SourceError(f"source {name}: unreadable")

        def loaded():
            events.append(("loaded", name))
            if on_loaded is not None:
                on_loaded()

        return real(name, pipeline, gemeenten=gemeenten, on_loaded=loaded)

    monkeypatch.setattr(run_module, "read_source", recording)
    return events


def test_the_largest_source_file_is_read_alone_first_and_the_others_follow(tmp_path, monkeypatch):
    pipeline = load_pipeline(SAMPLE)
    # the sample's Excel bed list as the largest file: second in the pipeline, read first
    sizes = {"gemeente_zaken": 1, "nachtregistratie": 2, "mo_clienten": 0}
    assert set(sizes) == set(pipeline.sources)
    monkeypatch.setattr(run_module, "input_size", lambda name, pipeline: sizes[name])
    events = _recording_reads(monkeypatch)
    outcome = run_module.run_into(pipeline, tmp_path, years=[2024], now=NOW)
    assert outcome.exit_code == ExitCode.OK
    assert events[0] == ("start", "nachtregistratie")
    loaded = events.index(("loaded", "nachtregistratie"))
    assert events.index(("start", "gemeente_zaken")) > loaded
    assert events.index(("start", "mo_clienten")) > loaded
    # the parts come back in the pipeline's order: the same delivery as without sizes
    monkeypatch.setattr(run_module, "input_size", lambda name, pipeline: 0)
    again = run_module.run_into(pipeline, tmp_path / "again", years=[2024], now=NOW)
    assert again.ledger["sources"] == outcome.ledger["sources"]
    assert again.dakl_paths[2024].read_bytes() == outcome.dakl_paths[2024].read_bytes()


@pytest.mark.parametrize("which", ["largest", "smallest"])
def test_a_source_failing_beside_the_others_is_reported_not_awaited(which, tmp_path, monkeypatch):
    pipeline = load_pipeline(SAMPLE)
    sizes = {name: input_size(name, pipeline) for name in pipeline.sources}
    pick = max if which == "largest" else min
    failing = pick(sizes, key=lambda name: sizes[name])
    _recording_reads(monkeypatch, fail=failing)
    with pytest.raises(SourceError, match=f"source {failing}: unreadable"):
        run_module.run_into(pipeline, tmp_path, years=[2024], now=NOW)
