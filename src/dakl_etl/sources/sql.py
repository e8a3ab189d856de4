"""SQL databases by SQLAlchemy URL: connectorx where it applies (fast, Arrow), else SQLAlchemy.

Result values are cast to text like every other source. Messages never carry the password,
and digit runs that could be a BSN are masked in database error texts.
"""

from __future__ import annotations

import hashlib
import re
import socket
from pathlib import Path

import polars as pl

from dakl_etl.config import Pipeline, SqlSource
from dakl_etl.errors import SourceError
from dakl_etl.protocol.privacy import mask_digit_runs
from dakl_etl.sources.base import RawSource, as_text, register, sha256_of

#: SQLAlchemy backend -> connectorx scheme.
_CONNECTORX = {"postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql", "sqlite": "sqlite"}


def safe_url(url: str) -> str:
    """The URL without user name and password, for messages and manifests."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return re.sub(r"//[^@/]*@", "//", url)
    # `URL.set(username=None)` keeps the old value; the NamedTuple's `_replace` clears it.
    return parsed._replace(username=None, password=None).render_as_string(hide_password=True)


def _query_of(config: SqlSource) -> str:
    return config.query or f"SELECT * FROM {config.table}"


@register("sql")
class SqlAdapter:
    def read(self, name: str, pipeline: Pipeline) -> RawSource:
        config: SqlSource = pipeline.sources[name]  # type: ignore[assignment]
        from sqlalchemy.engine import make_url

        try:
            url = make_url(config.url)
        except Exception:
            raise SourceError(
                f"source {name}: {safe_url(config.url)!r} is not a SQLAlchemy URL "
                f"(e.g. postgresql://user@host/db); fix `url:` at "
                f"{pipeline.where('sources', name, 'url')}"
            ) from None
        sqlite_file = url.get_backend_name() == "sqlite" and url.database not in (
            None,
            "",
            ":memory:",
        )
        if sqlite_file and not Path(url.database).is_file():
            raise SourceError(
                f"source {name}: SQLite database {url.database} not found; fix `url:` at "
                f"{pipeline.where('sources', name, 'url')}"
            )
        _probe(name, url, pipeline)
        query = _query_of(config)
        backend = url.get_backend_name()
        use_cx = config.engine == "connectorx" or (
            config.engine == "auto" and backend in _CONNECTORX and _has_connectorx()
        )
        frame, engine = None, "sqlalchemy"
        if use_cx:
            try:
                frame, engine = _read_connectorx(url, backend, query), "connectorx"
            except Exception as exc:
                if config.engine == "connectorx":
                    raise SourceError(_failure(name, config, pipeline, exc)) from None
        if frame is None:
            try:
                frame = _read_sqlalchemy(url, query)
            except Exception as exc:
                raise SourceError(_failure(name, config, pipeline, exc)) from None
        return RawSource(
            name, as_text(frame.lazy(), row_offset=1), tuple(frame.columns), detail=f"via {engine}"
        )

    def describe(self, name: str, pipeline: Pipeline) -> dict:
        config: SqlSource = pipeline.sources[name]  # type: ignore[assignment]
        info = {
            "name": name,
            "kind": "sql",
            "granularity": config.granularity,
            "url": safe_url(config.url),
            "query_sha256": hashlib.sha256(_query_of(config).encode()).hexdigest(),
        }
        if config.url.startswith("sqlite:///"):
            path = Path(config.url.removeprefix("sqlite:///").split("?")[0])
            info["sha256"] = sha256_of(path) if path.is_file() else None
        return info


PROBE_TIMEOUT = 10.0  # seconds; connectorx's own pool would retry for about 30 s


def _probe(name: str, url, pipeline: Pipeline) -> None:
    """A server that does not answer is reported at once, not after the driver's retries."""
    if not url.host or url.host.startswith("/") or {"unix_socket", "host"} & set(url.query):
        return  # a local socket, not TCP
    default_ports = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306, "mssql": 1433}
    port = url.port or default_ports.get(url.get_backend_name())
    if port is None:
        return
    try:
        socket.create_connection((url.host, port), timeout=PROBE_TIMEOUT).close()
    except OSError as exc:
        raise SourceError(
            f"source {name}: cannot connect to {url.host}:{port} ({exc.strerror or 'timeout'}); "
            f"is the database server running and the URL right? "
            f"({pipeline.where('sources', name, 'url')})"
        ) from None


def _has_connectorx() -> bool:
    try:
        import connectorx  # noqa: F401
    except ImportError:
        return False
    return True


def _read_connectorx(url, backend: str, query: str) -> pl.DataFrame:
    scheme = _CONNECTORX[backend]
    if scheme == "sqlite":
        uri = f"sqlite://{url.database}"
    else:
        uri = url.set(drivername=scheme).render_as_string(hide_password=False)
    return pl.read_database_uri(query, uri, engine="connectorx")


def _read_sqlalchemy(url, query: str) -> pl.DataFrame:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return pl.read_database(text(query), connection, infer_schema_length=None)
    finally:
        engine.dispose()


def _failure(name: str, config: SqlSource, pipeline: Pipeline, exc: Exception) -> str:
    """What failed, without the password and with long digit runs (possible BSNs) masked."""
    from sqlalchemy.engine import make_url

    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()[0] if str(original).strip() else ""
    try:
        password = make_url(config.url).password
    except Exception:
        password = None
    if password:
        text = text.replace(str(password), "***")
    text = mask_digit_runs(text)[:200]
    connecting = type(exc).__name__ in ("OperationalError", "InterfaceError") and (
        "connect" in text.lower() or "refused" in text.lower() or "resolve" in text.lower()
    )
    what = "cannot connect to" if connecting else "query failed on"
    fix = (
        "is the server running and the URL right"
        if connecting
        else "check `query:`/`table:` and the column names"
    )
    return (
        f"source {name}: {what} {safe_url(config.url)} ({type(original).__name__}: {text}); "
        f"{fix}? ({pipeline.where('sources', name)})"
    )
