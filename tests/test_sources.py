"""Source adapters and the mapping step: every row accounted for, typed, with its source line."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
import textwrap
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dakl_etl import canonical
from dakl_etl.config import load_pipeline
from dakl_etl.errors import ConfigError, SourceError
from dakl_etl.protocol.bsn import is_valid_bsn
from dakl_etl.reference import load_gemeenten
from dakl_etl.sources import (
    ADAPTERS,
    describe_source,
    input_size,
    read_source,
    read_sources,
    read_wide,
)
from dakl_etl.sources.csv import detect_encoding, sniff_delimiter
from synthetic import bsn_strategy, invalid_bsn, synthetic_bsns

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "pipelines" / "sample.yaml"
GEMEENTEN = load_gemeenten()
HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

HEAD = """\
delivery: {free_text: t, year: 2024, output: out}
mappings:
  match: casefold
  type_opvang: {Nachtopvang: "0201", 24-uursopvang: "0301", Beschermd wonen: exclude}
  reden: {Volgens plan: "19"}
  status: {"Afgesloten, datum onbekend": ended_unknown, Lopend: open}
sources:
"""

CSV_SOURCE = """\
  zaken:
    kind: csv
    path: zaken.csv
    columns: {bsn: BSN, v_nummer: Vnr, client_id: Id, gemeente: Gemeente,
              type_opvang: Type, startdatum: Begin, einddatum: Eind, reden: Reden,
              status: Status}
    dates: {default: ["%d-%m-%Y"]}
"""
CSV_HEADER = "Id;BSN;Vnr;Gemeente;Type;Begin;Eind;Reden;Status\n"


def pipeline_with(tmp_path: Path, sources: str, head: str = HEAD):
    path = tmp_path / "p.yaml"
    path.write_text(head + textwrap.indent(textwrap.dedent(sources), "  "), encoding="utf-8")
    return load_pipeline(path)


def csv_pipeline(tmp_path: Path, rows: list[str], encoding: str = "utf-8"):
    (tmp_path / "zaken.csv").write_bytes(
        (CSV_HEADER + "".join(r + "\n" for r in rows)).encode(encoding)
    )
    return pipeline_with(tmp_path, CSV_SOURCE)


def canonical_of(pipeline, name: str = "zaken") -> pl.DataFrame:
    return read_source(name, pipeline, gemeenten=GEMEENTEN).collect()


# --- the sample systems -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> dict[str, pl.DataFrame]:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MO_DATABASE_URL", raising=False)  # the sample's SQLite default
        pipeline = load_pipeline(SAMPLE)
    return {n: f.collect() for n, f in read_sources(pipeline, gemeenten=GEMEENTEN).items()}


def test_sample_sources_deliver_exactly_the_canonical_schema(sample) -> None:
    for frame in sample.values():
        assert frame.schema == pl.Schema(canonical.SCHEMA)


def test_every_input_row_is_accounted_for(sample) -> None:
    csv_lines = (ROOT / "data/sample/gemeente_zaken.csv").read_bytes().decode("cp1252")
    assert sample["gemeente_zaken"].height == len(csv_lines.splitlines()) - 1
    assert (
        sample["nachtregistratie"].height
        == pl.read_excel(ROOT / "data/sample/nachtregistratie.xlsx", sheet_name="Bezetting").height
    )
    db = sqlite3.connect(ROOT / "data/sample/mo_clienten.sqlite")
    assert (
        sample["mo_clienten"].height == db.execute("SELECT count(*) FROM verblijven").fetchone()[0]
    )
    for frame in sample.values():
        assert frame["source_row"].is_unique().all()


def test_source_row_is_the_line_a_person_finds_in_the_file(sample) -> None:
    lines = (ROOT / "data/sample/gemeente_zaken.csv").read_bytes().decode("cp1252").splitlines()
    rejected = sample["gemeente_zaken"].filter(pl.col("reject_code") == "R11")
    line = rejected["source_row"].item()
    assert "31-02-2024" in lines[line - 1]  # 1-based, header = line 1
    assert rejected["reject_value"].item() == "31-02-2024"


def test_sample_planted_defects(sample) -> None:
    zaken = sample["gemeente_zaken"]
    unmapped = zaken.filter(pl.col("reject_code") == "R10")
    assert unmapped["reject_value"].to_list() == ["Crisisopvang", "Crisisopvang"]
    assert zaken.filter(pl.col("bsn_repaired")).height == 1
    invalid = zaken.filter(pl.col("bsn").is_not_null() & (pl.col("bsn") != "999999999"))
    invalid = invalid.filter(
        ~pl.col("bsn").map_batches(
            lambda s: pl.Series([is_valid_bsn(b) for b in s]), return_dtype=pl.Boolean
        )
    )
    assert invalid.height == 1
    assert invalid["reject_code"].item() is None  # the run applies the invalid_bsn policy
    assert sorted(zaken["excluded"].drop_nulls().unique()) == [
        "type_opvang: Beschermd wonen",
        "type_opvang: Vrouwenopvang",
    ]
    nights = sample["nachtregistratie"]
    assert nights.filter(pl.col("bsn_repaired"))["bsn"].str.starts_with("0").all()
    assert (nights["startdatum"] == nights["einddatum"]).all()
    assert set(nights["type_opvang"]) == {"0201"}
    assert set(nights["gemeentecode"]) == {"0344", "0356"}
    mo = sample["mo_clienten"]
    assert (
        mo.filter(pl.col("bsn").is_null() & pl.col("v_nummer").is_null())["client_id"].null_count()
        == 0
    )
    assert mo["reden"].drop_nulls().is_in(["19", "21", "22", "23", "99"]).all()


def test_no_bsn_is_repaired_into_an_invalid_one(sample) -> None:
    for frame in sample.values():
        for bsn in frame.filter(pl.col("bsn_repaired"))["bsn"]:
            assert is_valid_bsn(bsn)


# --- CSV: encodings, delimiters -------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_csv_encodings_are_detected(tmp_path, encoding) -> None:
    bsn = synthetic_bsns(1, seed=3)[0]
    pipeline = csv_pipeline(
        tmp_path, [f"Z1;{bsn};;Súdwest-Fryslân;Nachtopvang;01-02-2024;;;"], encoding
    )
    frame = canonical_of(pipeline)
    assert frame["gemeentecode"].to_list() == ["1900"]
    assert frame["bsn"].to_list() == [bsn]


def test_detect_encoding() -> None:
    assert detect_encoding("ë".encode()) == "utf-8"
    assert detect_encoding(b"\xef\xbb\xbfa") == "utf-8-sig"
    assert detect_encoding("ë".encode("cp1252")) == "cp1252"
    assert detect_encoding(b"\x81\x8d") == "latin-1"  # undefined in cp1252


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
def test_delimiter_is_sniffed_from_the_header(delimiter) -> None:
    assert sniff_delimiter(delimiter.join(["a", "b", "c"])) == delimiter


def test_wrong_explicit_encoding_names_the_fix(tmp_path) -> None:
    (tmp_path / "zaken.csv").write_bytes(
        (CSV_HEADER + "Z;;;Zeist;Noodopvang;01-02-2024;;ë;\n").encode("cp1252")
    )
    pipeline = pipeline_with(
        tmp_path, CSV_SOURCE.replace("path: zaken.csv", "path: zaken.csv\n    encoding: utf-8")
    )
    with pytest.raises(SourceError) as caught:
        canonical_of(pipeline)
    assert "source zaken" in str(caught.value)


# --- mapping rules, one known-bad sample each ------------------------------------------------


def row(
    bsn="",
    vnr="",
    gemeente="Zeist",
    kind="Nachtopvang",
    begin="01-02-2024",
    end="",
    reden="",
    status="",
) -> str:
    return ";".join(["Z1", bsn, vnr, gemeente, kind, begin, end, reden, status])


@pytest.mark.parametrize(
    ("fields", "code", "field", "value"),
    [
        ({"gemeente": ""}, "R19", "gemeentecode", ""),
        ({"gemeente": "Atlantis"}, "R04", "gemeentecode", "Atlantis"),
        ({"gemeente": "9999"}, "R04", "gemeentecode", "9999"),
        ({"gemeente": "12"}, "R03", "gemeentecode", "12"),
        ({"kind": ""}, "R19", "type_opvang", ""),
        ({"kind": "Crisisopvang"}, "R10", "type_opvang", "Crisisopvang"),
        ({"kind": "0202"}, "R10", "type_opvang", "0202"),
        ({"begin": ""}, "R11", "startdatum", ""),
        ({"begin": "31-02-2024"}, "R11", "startdatum", "31-02-2024"),
        ({"end": "2024-13-01"}, "R13", "einddatum", "2024-13-01"),
        ({"end": "01-01-2024"}, "R14", "einddatum", "01-01-2024"),
        ({"end": "03-02-2024", "reden": "Weggelopen"}, "R16", "reden", "Weggelopen"),
        ({"vnr": "12345"}, "R18", "v_nummer", "**345"),
        # A BSN in the wrong column (a shifted export) is shown masked.
        ({"gemeente": "123456782"}, "R04", "gemeentecode", "******782"),
        # Arabic-Indic digits: Polars' `\d` would admit them, the protocol does not.
        ({"vnr": "١٢٣٤٥٦٧٨٩٠"}, "R18", "v_nummer", "*******٨٩٠"),
    ],
)
def test_first_blocking_problem_is_the_reject(tmp_path, fields, code, field, value) -> None:
    frame = canonical_of(csv_pipeline(tmp_path, [row(**fields)]))
    assert frame.select("reject_code", "reject_field", "reject_value").row(0) == (
        code,
        field,
        value,
    )


def test_a_clean_row_is_not_rejected(tmp_path) -> None:
    bsn = synthetic_bsns(1, seed=4)[0]
    frame = canonical_of(
        csv_pipeline(
            tmp_path, [row(bsn=bsn, vnr="1234567890", end="03-02-2024", reden="volgens  PLAN")]
        )
    )
    assert frame.row(0, named=True) | {"source": None} == {
        "source": None,
        "source_row": 2,
        "granularity": "episode",
        "bsn": bsn,
        "bsn_repaired": False,
        "v_nummer": "1234567890",
        "client_id": "Z1",
        "gemeentecode": "0355",
        "type_opvang": "0201",
        "startdatum": dt.date(2024, 2, 1),
        "einddatum": dt.date(2024, 2, 3),
        "ended_unknown": False,
        "reden": "19",
        "datum_melding": None,
        "excluded": None,
        "reject_code": None,
        "reject_field": None,
        "reject_value": None,
    }


def test_excluded_rows_are_not_rejected(tmp_path) -> None:
    frame = canonical_of(csv_pipeline(tmp_path, [row(kind="Beschermd wonen", begin="")]))
    assert frame.select("excluded", "reject_code").row(0) == ("type_opvang: Beschermd wonen", None)


def test_status_ended_unknown(tmp_path) -> None:
    frame = canonical_of(
        csv_pipeline(tmp_path, [row(status="Afgesloten, datum onbekend"), row(status="Lopend")])
    )
    assert frame["ended_unknown"].to_list() == [True, False]


def test_an_invalid_bsn_keeps_its_text_for_the_run(tmp_path) -> None:
    valid = synthetic_bsns(1, seed=5)[0]
    frame = canonical_of(csv_pipeline(tmp_path, [row(bsn=invalid_bsn(valid)), row(bsn="12345")]))
    assert frame["bsn"].to_list() == [invalid_bsn(valid), "12345"]
    assert frame["reject_code"].to_list() == [None, None]
    assert frame["bsn_repaired"].to_list() == [False, False]


def test_repair_can_be_switched_off(tmp_path) -> None:
    bsn = "0" + synthetic_bsns(1, seed=6)[0][1:]
    while not is_valid_bsn(bsn):  # find an elfproef-valid BSN with a leading zero
        bsn = f"0{int(bsn[1:]) + 1:08d}"
    head = HEAD.replace("sources:\n", "repair: {excel_damage: false}\nsources:\n")
    (tmp_path / "zaken.csv").write_text(CSV_HEADER + row(bsn=bsn[1:], gemeente="355") + "\n")
    frame = canonical_of(pipeline_with(tmp_path, CSV_SOURCE, head))
    assert frame.select("bsn", "bsn_repaired", "reject_code").row(0) == (bsn[1:], False, "R03")


# --- properties --------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=HEALTH)
@given(bsn=bsn_strategy, damage=st.sampled_from(["as number", "decimal", "spaced", "none"]))
def test_excel_damaged_bsn_is_repaired_to_the_valid_bsn(tmp_path, bsn, damage) -> None:
    zeroed = "0" + bsn[1:]
    target = zeroed if is_valid_bsn(zeroed) else bsn
    text = {
        "as number": str(int(target)),
        "decimal": f"{int(target)}.0",
        "spaced": f" {int(target)}",  # nine characters when a leading zero was lost
        "none": target,
    }[damage]
    frame = canonical_of(csv_pipeline(tmp_path, [row(bsn=text)]))
    assert frame["bsn"].item() == target
    assert frame["bsn_repaired"].item() == (text != target)


@settings(max_examples=40, deadline=None, suppress_health_check=HEALTH)
@given(digits=st.text("0123456789", min_size=1, max_size=8))
def test_repair_only_ever_yields_a_valid_bsn(tmp_path, digits) -> None:
    frame = canonical_of(csv_pipeline(tmp_path, [row(bsn=digits)]))
    bsn, repaired = frame.select("bsn", "bsn_repaired").row(0)
    assert (bsn == digits and not repaired) or (
        repaired and is_valid_bsn(bsn) and bsn.endswith(digits)
    )


@settings(max_examples=40, deadline=None, suppress_health_check=HEALTH)
@given(
    day=st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31)),
    shape=st.sampled_from(["%d-%m-%Y", "%Y-%m-%d", "%Y%m%d", "%Y-%m-%d 00:00:00", "serial"]),
)
def test_every_accepted_date_shape_parses_to_the_same_date(tmp_path, day, shape) -> None:
    text = str((day - dt.date(1899, 12, 30)).days) if shape == "serial" else day.strftime(shape)
    frame = canonical_of(csv_pipeline(tmp_path, [row(begin=text)]))
    assert frame["startdatum"].item() == day


@settings(max_examples=30, deadline=None, suppress_health_check=HEALTH)
@given(label=st.sampled_from(["Nachtopvang", "24-uursopvang"]), data=st.data())
def test_casefold_matching_ignores_case_and_spaces(tmp_path, label, data) -> None:
    flipped = "".join(c.upper() if data.draw(st.booleans()) else c.lower() for c in label)
    padded = (
        data.draw(st.sampled_from(["", " ", "  "]))
        + flipped
        + data.draw(st.sampled_from(["", " "]))
    )
    frame = canonical_of(csv_pipeline(tmp_path, [row(kind=padded)]))
    assert frame["type_opvang"].item() == {"Nachtopvang": "0201", "24-uursopvang": "0301"}[label]


@settings(max_examples=25, deadline=None, suppress_health_check=HEALTH)
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "gemeente": st.sampled_from(["Zeist", "0355", "355", "Atlantis", "", "12"]),
                "kind": st.sampled_from(["Nachtopvang", "Beschermd wonen", "Crisis", ""]),
                "begin": st.sampled_from(["01-02-2024", "31-02-2024", "", "2024-02-05"]),
                "end": st.sampled_from(["", "03-02-2024", "01-01-2024", "x"]),
                "vnr": st.sampled_from(["", "1234567890", "123"]),
            }
        ),
        min_size=1,
        max_size=12,
    )
)
def test_rows_in_equal_rows_out_and_a_reject_is_never_also_excluded(tmp_path, rows) -> None:
    frame = canonical_of(csv_pipeline(tmp_path, [row(**r) for r in rows]))
    assert frame.height == len(rows)
    assert frame["source_row"].to_list() == list(range(2, len(rows) + 2))
    assert frame.filter(
        pl.col("excluded").is_not_null() & pl.col("reject_code").is_not_null()
    ).is_empty()
    deliverable = frame.filter(pl.col("excluded").is_null() & pl.col("reject_code").is_null())
    assert deliverable["gemeentecode"].str.contains(r"^\d{4}$").all()
    assert deliverable["type_opvang"].is_not_null().all()
    assert deliverable["startdatum"].is_not_null().all()
    assert (
        deliverable["einddatum"].is_null() | (deliverable["einddatum"] >= deliverable["startdatum"])
    ).all()
    # A V-nummer never shows unmasked in a reject.
    assert "1234567890" not in frame["reject_value"].to_list()
    assert "123" not in frame["reject_value"].to_list()


# --- Excel, Parquet, SQLite --------------------------------------------------------------------


EXCEL_SOURCE = """\
  nachten:
    kind: excel
    path: {path}
    sheet: {sheet}
    granularity: night
    columns: {{bsn: BSN, client_id: Client, datum: Datum, gemeente: Gemeentecode}}
    constants: {{type_opvang: "0201"}}
"""


def test_excel_wrong_sheet_lists_the_sheets(tmp_path) -> None:
    pipeline = pipeline_with(
        tmp_path,
        EXCEL_SOURCE.format(path=ROOT / "data/sample/nachtregistratie.xlsx", sheet="Blad1"),
    )
    with pytest.raises(SourceError) as caught:
        canonical_of(pipeline, "nachten")
    message = str(caught.value)
    assert "no sheet 'Blad1'" in message and "Bezetting, Toelichting" in message
    assert f"{tmp_path / 'p.yaml'}:" in message


def test_excel_sheet_by_index_and_sheet_row_numbers(tmp_path) -> None:
    pipeline = pipeline_with(
        tmp_path,
        EXCEL_SOURCE.format(path=ROOT / "data/sample/nachtregistratie.xlsx", sheet=0).replace(
            "Client", "Clientnummer"
        ),
    )
    frame = canonical_of(pipeline, "nachten")
    sheet = pl.read_excel(
        ROOT / "data/sample/nachtregistratie.xlsx", sheet_name="Bezetting", infer_schema_length=0
    )
    assert frame["source_row"].to_list() == list(range(2, sheet.height + 2))
    assert frame["client_id"].to_list() == sheet["Clientnummer"].to_list()


def test_parquet_source(tmp_path) -> None:
    bsns = synthetic_bsns(3, seed=8)
    pl.DataFrame(
        {
            "bsn": [int(b) for b in bsns],
            "gem": [355, 355, 344],
            "start": [dt.date(2024, 1, 1), dt.date(2024, 3, 1), None],
            "type": ["0201"] * 3,
        }
    ).write_parquet(tmp_path / "x.parquet")
    pipeline = pipeline_with(
        tmp_path,
        """\
      x:
        kind: parquet
        path: x.parquet
        columns: {bsn: bsn, gemeente: gem, startdatum: start, type_opvang: type}
    """,
    )
    frame = canonical_of(pipeline, "x")
    assert frame["bsn"].to_list() == bsns
    assert frame["gemeentecode"].to_list() == ["0355", "0355", "0344"]
    assert frame["reject_code"].to_list() == [None, None, "R11"]
    assert frame["source_row"].to_list() == [1, 2, 3]


SQL_SOURCE = """\
  mo:
    kind: sql
    url: {url}
    query: SELECT * FROM verblijven
    columns: {{client_id: client_id, gemeente: gemeentecode, type_opvang: soort_opvang,
              startdatum: begin_datum, einddatum: eind_datum}}
    mappings: {{type_opvang: {{"24-uurs opvang": "0301", Doorstroomwoning: "0302",
                Tijdelijke opvang: "0303", Omklapwoning: "0305", Housing First: exclude}}}}
"""


@pytest.mark.parametrize("engine", ["connectorx", "sqlalchemy"])
def test_sqlite_through_both_engines(tmp_path, engine) -> None:
    url = f"sqlite:///{ROOT / 'data/sample/mo_clienten.sqlite'}"
    pipeline = pipeline_with(
        tmp_path,
        SQL_SOURCE.format(url=url).replace("    query:", f"    engine: {engine}\n    query:"),
    )
    frame = canonical_of(pipeline, "mo")
    db = sqlite3.connect(ROOT / "data/sample/mo_clienten.sqlite")
    assert frame.height == db.execute("SELECT count(*) FROM verblijven").fetchone()[0]
    assert frame["reject_code"].null_count() == frame.height


def test_missing_file_names_the_source(tmp_path) -> None:
    pipeline = pipeline_with(tmp_path, CSV_SOURCE)
    with pytest.raises(SourceError) as caught:
        canonical_of(pipeline)
    assert str(caught.value).startswith("source zaken: file ")
    assert "not found" in str(caught.value)


def test_query_error_names_the_source_and_no_password(tmp_path) -> None:
    url = f"sqlite:///{ROOT / 'data/sample/mo_clienten.sqlite'}"
    pipeline = pipeline_with(tmp_path, SQL_SOURCE.format(url=url).replace("verblijven", "verblijf"))
    with pytest.raises(SourceError) as caught:
        canonical_of(pipeline, "mo")
    assert "source mo: query failed" in str(caught.value)
    assert "verblijf" in str(caught.value)


def test_unreachable_database_names_the_source_without_credentials(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DAKL_TEST_PW", "s3cret")
    pipeline = pipeline_with(
        tmp_path, SQL_SOURCE.format(url="postgresql://mo:${DAKL_TEST_PW}@127.0.0.1:1/mo")
    )
    with pytest.raises(SourceError) as caught:
        canonical_of(pipeline, "mo")
    message = str(caught.value)
    assert message.startswith("source mo: cannot connect to 127.0.0.1:1")
    assert "s3cret" not in message
    assert "sources.mo.url" in message


def test_missing_sqlite_file(tmp_path) -> None:
    pipeline = pipeline_with(tmp_path, SQL_SOURCE.format(url="sqlite:///nope.sqlite"))
    with pytest.raises(SourceError, match=r"SQLite database .*nope\.sqlite not found"):
        canonical_of(pipeline, "mo")


def test_describe_source_for_the_manifest(monkeypatch) -> None:
    monkeypatch.setenv("MO_DATABASE_URL", "postgresql://mo:s3cret@db.example:5432/mo")
    pipeline = load_pipeline(SAMPLE)
    info = describe_source("gemeente_zaken", pipeline)
    data = (ROOT / "data/sample/gemeente_zaken.csv").read_bytes()
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    assert info["kind"] == "csv" and info["path"].endswith("gemeente_zaken.csv")
    sql = describe_source("mo_clienten", pipeline)
    assert sql["url"] == "postgresql://db.example:5432/mo"
    assert "s3cret" not in str(sql)


def test_adapters_are_registered_by_kind() -> None:
    assert set(ADAPTERS) == {"csv", "excel", "parquet", "sql"}


def test_wide_frame_keeps_the_raw_text() -> None:
    wide = read_wide("gemeente_zaken", load_pipeline(SAMPLE), gemeenten=GEMEENTEN)
    assert wide.filter(pl.col("reject_code") == "R10")["raw_type_opvang"].to_list() == [
        "Crisisopvang",
        "Crisisopvang",
    ]


def test_config_error_for_a_source_column_is_located(tmp_path) -> None:
    (tmp_path / "zaken.csv").write_text(CSV_HEADER.replace("Gemeente", "Gem"))
    with pytest.raises(
        ConfigError, match=r"p\.yaml:\d+:\d+: sources\.zaken\.columns\.gemeente: column 'Gemeente'"
    ):
        canonical_of(pipeline_with(tmp_path, CSV_SOURCE))


def test_a_source_without_header_shows_its_first_row_masked(tmp_path) -> None:
    bsn = synthetic_bsns(1, seed=5)[0]
    (tmp_path / "zaken.csv").write_text(row(bsn=bsn, vnr="1234567890") + "\n")
    with pytest.raises(ConfigError, match=r"column 'BSN' is not in source zaken") as caught:
        canonical_of(pipeline_with(tmp_path, CSV_SOURCE))
    assert bsn not in str(caught.value) and "1234567890" not in str(caught.value)
    assert f"'******{bsn[-3:]}'" in str(caught.value)


def test_blank_values_count_as_absent_not_as_defects(tmp_path) -> None:
    frame = canonical_of(csv_pipeline(tmp_path, [row(end="  ", reden=" "), row(kind="  ")]))
    assert frame.select("einddatum", "reden", "reject_code").row(0) == (None, None, None)
    assert frame.select("reject_code", "reject_field").row(1) == ("R19", "type_opvang")


ROUND_TRIP = """\
  rt:
    kind: csv
    path: rt.csv
    columns: {{bsn: BSN, v_nummer: Vnr, client_id: Id, gemeente: Gem, type_opvang: Type,
              startdatum: Start, einddatum: Eind, reden: Reden, datum_melding: Melding}}
    dates: {{default: ["{fmt}"]}}
"""


@settings(max_examples=25, deadline=None, suppress_health_check=HEALTH)
@given(
    rows=st.lists(
        st.tuples(
            bsn_strategy,
            st.one_of(st.none(), st.text("0123456789", min_size=10, max_size=10)),
            st.sampled_from(["0344", "0363", "0014", "1900"]),
            st.sampled_from(["0201", "0203", "0301", "0305"]),
            st.dates(dt.date(2020, 1, 1), dt.date(2026, 12, 31)),
            st.one_of(st.none(), st.integers(0, 400)),
            st.sampled_from(["02", "19", "99"]),
        ),
        min_size=1,
        max_size=15,
    ),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
    delimiter=st.sampled_from([";", ",", "\t"]),
    fmt=st.sampled_from(["%d-%m-%Y", "%d/%m/%Y", "%Y-%m-%d"]),
)
def test_csv_round_trip(tmp_path, rows, encoding, delimiter, fmt) -> None:
    """Values written by a source system in any accepted shape come back as written."""
    header = ["Id", "BSN", "Vnr", "Gem", "Type", "Start", "Eind", "Reden", "Melding"]
    lines = [delimiter.join(header)]
    expected = []
    for i, (bsn, vnr, gem, kind, start, days, reden) in enumerate(rows):
        end = None if days is None else start + dt.timedelta(days=days)
        lines.append(
            delimiter.join(
                [
                    f"C{i}",
                    bsn,
                    vnr or "",
                    gem,
                    kind,
                    start.strftime(fmt),
                    end.strftime(fmt) if end else "",
                    reden if end else "",
                    start.strftime(fmt),
                ]
            )
        )
        expected.append((i + 2, bsn, vnr, f"C{i}", gem, kind, start, end, reden if end else None))
    (tmp_path / "rt.csv").write_bytes(("\n".join(lines) + "\n").encode(encoding))
    pipeline = pipeline_with(tmp_path, ROUND_TRIP.format(fmt=fmt))
    frame = canonical_of(pipeline, "rt")
    got = frame.select(
        "source_row",
        "bsn",
        "v_nummer",
        "client_id",
        "gemeentecode",
        "type_opvang",
        "startdatum",
        "einddatum",
        "reden",
    ).rows()
    assert got == expected
    assert frame["reject_code"].null_count() == frame.height
    assert (frame["datum_melding"] == frame["startdatum"]).all()


def test_input_size_is_the_file_size_and_zero_without_a_file(tmp_path):
    pipeline = load_pipeline(SAMPLE)
    assert (
        input_size("gemeente_zaken", pipeline)
        == (ROOT / "data" / "sample" / "gemeente_zaken.csv").stat().st_size
    )
    assert input_size("mo_clienten", pipeline) == 0  # a database
    moved = tmp_path / "pipeline.yaml"  # the relative paths now lead nowhere
    moved.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    assert input_size("gemeente_zaken", load_pipeline(moved)) == 0
