"""CSV lineage: `__source_row` is the line on which a record starts, as a text editor shows it.

A quoted field may hold line breaks; the records after it must still point at their own line,
in every encoding and with CRLF endings, while files without such fields stay on the fast path.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dakl_etl.cli import main
from dakl_etl.config import load_pipeline
from dakl_etl.pipeline.run import run
from dakl_etl.reference import load_gemeenten
from dakl_etl.sources import open_source, read_source
from dakl_etl.sources.base import ROW
from dakl_etl.sources.csv import _holds, _line_layout
from synthetic import synthetic_bsns

GEMEENTEN = load_gemeenten()
HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

PIPELINE = """\
delivery: {{free_text: t, year: 2024, output: out}}
mappings:
  type_opvang: {{Nachtopvang: "0201"}}
sources:
  zaken:
    kind: csv
    path: zaken.csv
{options}    columns: {{bsn: BSN, client_id: Id, gemeente: Gemeente, type_opvang: Type,
              startdatum: Begin, einddatum: Eind}}
    dates: {{default: ["%d-%m-%Y"]}}
"""
HEADER = ["Id", "BSN", "Gemeente", "Type", "Begin", "Eind", "Notitie"]
BSNS = synthetic_bsns(6, seed=11)


def write_pipeline(tmp_path: Path, data: bytes, **options: str | None) -> Path:
    (tmp_path / "zaken.csv").write_bytes(data)
    lines = "".join(f"    {k}: {'null' if v is None else repr(v)}\n" for k, v in options.items())
    path = tmp_path / "p.yaml"
    path.write_text(PIPELINE.format(options=lines), encoding="utf-8")
    return path


def rows_of(tmp_path: Path, data: bytes, **options: str | None) -> pl.DataFrame:
    """The adapter's frame: `ROW` and the raw texts."""
    pipeline = load_pipeline(write_pipeline(tmp_path, data, **options))
    frame = open_source("zaken", pipeline).frame.collect()
    return frame.select(ROW, *(pl.col(c).cast(pl.String) for c in frame.columns if c != ROW))


def editor_line(data: bytes, encoding: str, line: int) -> str:
    """Line `line` (1-based) as an editor shows it: lines end at LF, CRLF counts once."""
    return data.decode(encoding).removeprefix("\ufeff").split("\n")[line - 1].removesuffix("\r")


# --- the defect: a quoted field holding line breaks ------------------------------------------

NOTES = [
    "kort",
    "regel een\nregel twee; met puntkomma\nregel drie",  # 3 lines
    "",
    'zei "ok"\n',  # 2 lines, escaped quotes
    "Súdwest-Fryslân",
]


def zaken(terminator: str = "\n") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator=terminator)
    writer.writerow(HEADER)
    for i, note in enumerate(NOTES):
        note = note.replace("\n", terminator)  # a CRLF file holds CRLF inside its fields too
        writer.writerow([f"Z{i + 1}", BSNS[i], "Zeist", "Nachtopvang", "01-02-2024", "", note])
    return out.getvalue()


@pytest.mark.parametrize("terminator", ["\n", "\r\n"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_a_multi_line_field_keeps_the_lines_of_the_records_around_it(
    tmp_path, terminator, encoding
) -> None:
    data = zaken(terminator).encode(encoding)
    frame = rows_of(tmp_path, data)
    # Line 1 header, 2 Z1, 3-5 Z2, 6 Z3, 7-8 Z4, 9 Z5.
    assert frame[ROW].to_list() == [2, 3, 6, 7, 9]
    for line, ident in frame.select(ROW, "Id").rows():
        assert editor_line(data, encoding, line).startswith(f"{ident};")
    assert frame["Notitie"].to_list() == [n.replace("\n", terminator) if n else None for n in NOTES]


def test_a_header_name_with_a_line_break_moves_the_first_record_down(tmp_path) -> None:
    data = b'Id;"Gemeente\n(naam)";Type;Begin\nZ1;Zeist;x;y\n"Z\n2";Zeist;x;y\nZ3;Zeist;x;y\n'
    frame = rows_of(tmp_path, data)
    assert frame.select(ROW, "Id").rows() == [(3, "Z1"), (4, "Z\n2"), (6, "Z3")]


def test_blank_lines_keep_their_own_line_and_those_above_the_header_count(tmp_path) -> None:
    data = b'\r\n\r\nId;Type\r\nZ1;"a\r\nb"\r\n\r\nZ2;c\r\n'
    frame = rows_of(tmp_path, data)
    assert frame.select(ROW, "Id").rows() == [(4, "Z1"), (6, None), (7, "Z2")]
    assert editor_line(data, "utf-8", 7).startswith("Z2;")


def test_quotes_around_a_delimiter_change_no_line(tmp_path) -> None:
    data = b'Id;Gemeente;Type\nZ1;"Utrecht; centrum";x\nZ2;"""De Haven""";x\nZ3;Zeist;x\n'
    frame = rows_of(tmp_path, data)
    assert frame.select(ROW, "Gemeente").rows() == [
        (2, "Utrecht; centrum"),
        (3, '"De Haven"'),
        (4, "Zeist"),
    ]
    head = data[: 1 << 16]
    columns = ("Id", "Gemeente", "Type")
    assert _line_layout(data, ";", '"', head, columns) == (2, False)  # the fast path


@pytest.mark.parametrize(
    ("data", "found"),
    [(b"", False), (b"Id;Type\nZ1;x\n", False), (b"Id;Type\nZ1;x\n" * 9000 + b'"', True)],
)
def test_the_quote_scan_reads_the_whole_file(tmp_path, data, found) -> None:
    """A file without the quote character skips the record counts: the scan must see every
    byte (the last one too) and take an empty file."""
    path = tmp_path / "s.csv"
    path.write_bytes(data)
    assert _holds(path, b'"') is found
    assert _holds(data, b'"') is found


def test_a_file_that_cannot_be_mapped_takes_the_record_counts(tmp_path, monkeypatch) -> None:
    """No mmap (a pipe, some network file systems): the quote scan says "maybe", and the
    record counts find the quoted line break as before."""
    data = b'Id;Notitie\nZ1;"a\nb"\nZ2;c\n'
    path = tmp_path / "s.csv"
    path.write_bytes(data)

    def no_mmap(*_args, **_kwargs):
        raise OSError("mmap not supported")

    monkeypatch.setattr("dakl_etl.sources.csv.mmap.mmap", no_mmap)
    assert _holds(path, b'"') is True
    assert _line_layout(path, ";", '"', data, ("Id", "Notitie")) == (2, True)


def test_without_quoting_a_quote_is_text_and_every_line_a_record(tmp_path) -> None:
    data = b'Id;Gemeente;Type\nZ1;"Zeist;x\nZ2;Zeist";x\nZ3;Zeist;x\n'
    frame = rows_of(tmp_path, data, quote_char=None)
    assert frame.select(ROW, "Id", "Gemeente").rows() == [
        (2, "Z1", '"Zeist'),
        (3, "Z2", 'Zeist"'),
        (4, "Z3", "Zeist"),
    ]


def test_another_quote_char_is_the_one_that_can_span_lines(tmp_path) -> None:
    data = b"Id;Notitie;Type\nZ1;'een\ntwee';x\nZ2;\"drie;x\nZ3;vier;x\n"
    frame = rows_of(tmp_path, data, quote_char="'")
    assert frame.select(ROW, "Id", "Notitie").rows() == [
        (2, "Z1", "een\ntwee"),
        (4, "Z2", '"drie'),
        (5, "Z3", "vier"),
    ]


def test_files_without_multi_line_records_keep_the_plain_row_index(tmp_path) -> None:
    lines = [f"Z{i};Zeist;{'' if i % 3 else chr(34) * 2}" for i in range(50)]
    data = ("Id;Gemeente;Notitie\n" + "\n".join(lines) + "\n").encode()
    assert rows_of(tmp_path, data)[ROW].to_list() == list(range(2, 52))


# --- property: any CSV Python's csv module writes --------------------------------------------

# A lone CR is no line break (for Polars as for the rule), but the csv module leaves it unquoted
# with LF endings: at the end of a line it would read as CRLF, hence "\rx".
PIECES = ["a", "ë", " ", "\n", "\r\n", "\rx", '"', ";", ",", "\t", "|", "'"]
field = st.lists(st.sampled_from(PIECES), max_size=6).map("".join)


@settings(max_examples=120, deadline=None, suppress_health_check=HEALTH)
@given(
    records=st.lists(
        st.tuples(st.booleans(), st.lists(field, min_size=4, max_size=4)), min_size=1, max_size=8
    ),
    delimiter=st.sampled_from([";", ",", "\t", "|"]),
    terminator=st.sampled_from(["\n", "\r\n"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
    final_break=st.booleans(),
    quote_all=st.booleans(),
)
def test_source_row_is_the_start_line_of_every_record(
    tmp_path, records, delimiter, terminator, encoding, final_break, quote_all
) -> None:
    """Start lines are counted from the writer's output, record by record, not by parsing."""
    out = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    writer = csv.writer(out, delimiter=delimiter, lineterminator=terminator, quoting=quoting)
    writer.writerow(["Id", *HEADER[1:5]])
    expected = []
    for i, (blank_before, values) in enumerate(records):
        if blank_before:  # a blank line is a row of nulls on its own line
            expected.append((out.getvalue().count("\n") + 1, None, None, None, None, None))
            out.write(terminator)
        texts = values if quote_all else [v or None for v in values]  # `""` is "", `` null
        expected.append((out.getvalue().count("\n") + 1, f"R{i}", *texts))
        writer.writerow([f"R{i}", *values])
    text = out.getvalue() if final_break else out.getvalue().removesuffix(terminator)
    data = text.encode(encoding)
    frame = rows_of(tmp_path, data)
    assert frame.rows() == expected
    for line, ident, *_ in expected:
        if ident:
            assert re.match(f'"?{ident}"?{re.escape(delimiter)}', editor_line(data, encoding, line))


# --- end to end: the line a reject reports -----------------------------------------------------

REJECTS = (
    "Id;BSN;Gemeente;Type;Begin;Eind;Notitie\r\n"
    f'Z1;{BSNS[0]};Zeist;Nachtopvang;01-02-2024;03-02-2024;"Opgenomen na melding.\r\n'
    'Vervolg: ""zie dossier"" (cliënt);\r\nafgesloten."\r\n'  # lines 2-4
    f"Z2;{BSNS[1]};Zeist;Nachtopvang;31-02-2024;;\r\n"  # line 5: R11
    f'Z3;{BSNS[2]};Zeist;Nachtopvang;01-03-2024;;"a\r\n\r\nb"\r\n'  # lines 6-8
    f"Z4;{BSNS[3]};Atlantis;Nachtopvang;01-04-2024;;\r\n"  # line 9: R04
)


def test_a_run_reports_the_line_of_the_rejected_record(tmp_path) -> None:
    data = REJECTS.encode("cp1252")
    path = write_pipeline(tmp_path, data)
    canonical = read_source("zaken", load_pipeline(path), gemeenten=GEMEENTEN).collect()
    assert canonical["source_row"].to_list() == [2, 5, 6, 9]
    outcome = run(path, out=tmp_path / "out", now=dt.datetime(2025, 4, 24, 9, 0))
    rejects = pl.read_csv(outcome.rejects_path, separator=";", infer_schema=False)
    found = rejects.select("source_line", "rule").rows()
    assert ("5", "R11") in found and ("9", "R04") in found
    assert "31-02-2024" in editor_line(data, "cp1252", 5)
    assert "Atlantis" in editor_line(data, "cp1252", 9)


def test_check_shows_the_line_of_the_rejected_record(tmp_path, monkeypatch, capsys) -> None:
    path = write_pipeline(tmp_path, REJECTS.encode("cp1252"))
    monkeypatch.setattr(sys, "argv", ["dakl-etl", "check", str(path)])
    with pytest.raises(SystemExit):
        main()
    out = capsys.readouterr().out
    assert "line 5 (31-02-2024)" in out
    assert re.search(r"'Atlantis': 1×\n\s+line 9\n", out)
    assert "encoding cp1252" in out


def test_the_delimiter_is_sniffed_from_the_header_below_blank_lines(tmp_path) -> None:
    data = b"\n\r\nId,Type\nZ1,a\nZ2,c\n"
    frame = rows_of(tmp_path, data)
    assert frame.select(ROW, "Id", "Type").rows() == [(4, "Z1", "a"), (5, "Z2", "c")]
