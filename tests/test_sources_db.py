"""The SQL adapter against real servers: PostgreSQL and MariaDB on 127.0.0.1.

Each test creates its own uniquely named tables, loads the sample MO client system into them,
reads them back through a pipeline YAML (URL from an environment variable) and compares the
canonical frame with the one read from the sample SQLite file; the tables are dropped after.
Without a server the tests skip with the reason; with CI=true they fail instead.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import textwrap
import uuid
from pathlib import Path

import polars as pl
import pytest

from dakl_etl.config import load_pipeline
from dakl_etl.reference import load_gemeenten
from dakl_etl.sources import read_source

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[1]
SQLITE = ROOT / "data" / "sample" / "mo_clienten.sqlite"
SERVERS = {
    "postgresql": os.environ.get(
        "DAKL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get("DAKL_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}
GEMEENTEN = load_gemeenten()


def server_engine(kind: str):
    from sqlalchemy import create_engine, text

    url = SERVERS[kind]
    connect_args = {"connect_timeout": 3}
    engine = create_engine(url, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # driver errors differ per server
        engine.dispose()
        reason = f"no {kind} server answers at {url.split('@')[-1]} ({type(exc).__name__})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; required when CI=true")
        pytest.skip(reason)
    return engine, url


def load_sample(engine, prefix: str) -> None:
    from sqlalchemy import Column, Date, Integer, MetaData, String, Table

    meta = MetaData()
    clienten = Table(
        f"{prefix}_clienten",
        meta,
        Column("client_id", String(16), primary_key=True),
        Column("bsn", String(9)),
        Column("v_nummer", String(10)),
    )
    verblijven = Table(
        f"{prefix}_verblijven",
        meta,
        Column("verblijf_id", Integer, primary_key=True),
        Column("client_id", String(16)),
        Column("gemeentecode", String(4)),
        Column("soort_opvang", String(40)),
        Column("begin_datum", Date),
        Column("eind_datum", Date),
        Column("reden_einde", Integer),
        Column("aanmelddatum", Date),
    )
    meta.create_all(engine)
    source = sqlite3.connect(SQLITE)
    source.row_factory = sqlite3.Row
    as_date = lambda v: dt.date.fromisoformat(v) if v else None  # noqa: E731
    with engine.begin() as connection:
        connection.execute(
            clienten.insert(), [dict(r) for r in source.execute("SELECT * FROM clienten")]
        )
        connection.execute(
            verblijven.insert(),
            [
                dict(r) | {k: as_date(r[k]) for k in ("begin_datum", "eind_datum", "aanmelddatum")}
                for r in source.execute("SELECT * FROM verblijven")
            ],
        )
    source.close()


def drop(engine, prefix: str) -> None:
    from sqlalchemy import text

    with engine.begin() as connection:
        for table in ("verblijven", "clienten"):
            connection.execute(text(f"DROP TABLE IF EXISTS {prefix}_{table}"))


def pipeline_for(tmp_path: Path, prefix: str, engine_name: str):
    sample = (ROOT / "pipelines" / "sample.yaml").read_text(encoding="utf-8")
    head = sample.split("\nsources:\n")[0]
    source = textwrap.dedent(f"""\
      mo_clienten:
        kind: sql
        url: ${{DAKL_TEST_DB_URL}}
        engine: {engine_name}
        query: >-
          SELECT c.client_id, c.bsn, c.v_nummer, v.gemeentecode, v.soort_opvang,
                 v.begin_datum, v.eind_datum, v.reden_einde, v.aanmelddatum
          FROM {prefix}_verblijven v JOIN {prefix}_clienten c ON c.client_id = v.client_id
          ORDER BY v.verblijf_id
    """)
    mo_part = sample.split("  mo_clienten:\n")[1].split("    granularity:", 1)[1]
    text = head + "\nsources:\n" + textwrap.indent(source, "  ") + "    granularity:" + mo_part
    text = text.replace("end_date_precedence: [mo_clienten]", "end_date_precedence: []")
    path = tmp_path / "db.yaml"
    path.write_text(text.replace("output: ../out", f"output: {tmp_path / 'out'}"), encoding="utf-8")
    return load_pipeline(path)


@pytest.fixture(scope="module")
def from_sqlite() -> pl.DataFrame:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MO_DATABASE_URL", raising=False)  # the sample's SQLite default
        pipeline = load_pipeline(ROOT / "pipelines" / "sample.yaml")
    return read_source("mo_clienten", pipeline, gemeenten=GEMEENTEN).collect()


@pytest.mark.parametrize("engine_name", ["connectorx", "sqlalchemy"])
@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_server_reads_like_the_sample_sqlite(tmp_path, monkeypatch, from_sqlite, kind, engine_name):
    engine, url = server_engine(kind)
    prefix = f"dakl_{uuid.uuid4().hex[:10]}"
    try:
        load_sample(engine, prefix)
        monkeypatch.setenv("DAKL_TEST_DB_URL", url)
        frame = read_source(
            "mo_clienten", pipeline_for(tmp_path, prefix, engine_name), gemeenten=GEMEENTEN
        ).collect()
    finally:
        drop(engine, prefix)
        engine.dispose()
    assert frame.height == from_sqlite.height > 100
    assert frame.equals(from_sqlite)


def test_query_error_on_a_server_names_the_source(tmp_path, monkeypatch) -> None:
    engine, url = server_engine("postgresql")
    engine.dispose()
    monkeypatch.setenv("DAKL_TEST_DB_URL", url)
    pipeline = pipeline_for(tmp_path, "dakl_no_such_prefix", "sqlalchemy")
    from dakl_etl.errors import SourceError

    with pytest.raises(SourceError, match=r"^source mo_clienten: query failed"):
        read_source("mo_clienten", pipeline, gemeenten=GEMEENTEN)
