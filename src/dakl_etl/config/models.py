"""The pipeline YAML as pydantic models: what a data engineer may write, and nothing else.

`extra="forbid"` everywhere so a misspelt key is an error, not a silently ignored setting.
Cross-field rules raise `located(...)` errors naming the exact key, so the loader can point
at its line and column.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from dakl_etl.protocol.codes import REDEN_BEEINDIGING, TYPE_OPVANG
from dakl_etl.protocol.fields import FIELD_BY_KEY, FILE_NAME_FORBIDDEN, YEAR_MAX, YEAR_MIN

EXCLUDE = "exclude"
#: Fields a source column can be mapped to (canonical inputs).
MAPPABLE = (
    "bsn",
    "v_nummer",
    "client_id",
    "gemeente",
    "type_opvang",
    "startdatum",
    "einddatum",
    "reden",
    "datum_melding",
    "datum",
    "status",
)
DATE_FIELDS = ("startdatum", "einddatum", "datum_melding", "datum")
#: Fields whose values repeat (labels, codes, dates): read dictionary-encoded and interpreted
#: once per distinct value.
REPEATING_FIELDS = ("gemeente", "type_opvang", "reden", "status", *DATE_FIELDS)
#: The free text sits before the extension: F02's characters, any '.', and spaces are refused.
_FORBIDDEN_NAME_CHARS = re.compile(f"[{re.escape(FILE_NAME_FORBIDDEN)}.\\s]")


def located(message: str, *at: str | int) -> PydanticCustomError:
    """A validation error about the sub-key `at` of the model being validated."""
    return PydanticCustomError("dakl_config", "{message}", {"message": message, "at": at})


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _base_dir(info: ValidationInfo) -> Path:
    return Path((info.context or {}).get("base_dir", "."))


def _resolve(value: Path | None, info: ValidationInfo) -> Path | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else (_base_dir(info) / path).resolve()


class Delivery(Strict):
    """What is delivered: year(s), the free text in the file name, where it goes."""

    free_text: str = Field(
        "", description="Free text in the file name: DAKL_J{year}_{free_text}.csv (may be empty)"
    )
    year: int = Field(ge=YEAR_MIN, le=YEAR_MAX, description="Reporting year (J{year})")
    with_previous_year: bool = Field(
        False, description="Also write the re-delivery of year - 1 (a second file)"
    )
    output: Path = Field(description="Output directory, relative to this YAML file")
    reference: Path | None = Field(
        None, description="Municipality reference list (CSV); default: the shipped gemeenten.csv"
    )

    @field_validator("free_text")
    @classmethod
    def _file_name_safe(cls, value: str) -> str:
        bad = sorted(set(_FORBIDDEN_NAME_CHARS.findall(value)))
        if bad:
            raise ValueError(
                f"free text goes into the file name and may not contain {' '.join(map(repr, bad))}"
                " (RULES.md F02); use letters, digits, '-' or '_'"
            )
        return value

    @field_validator("output", "reference")
    @classmethod
    def _relative_to_yaml(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return _resolve(value, info)


class Persons(Strict):
    invalid_bsn: Literal["reject", "unknown"] = Field(
        "reject",
        description="An invalid BSN: reject the row (default) or deliver it as 999999999",
    )


class Episodes(Strict):
    merge_gap_days: int = Field(
        0, ge=0, le=366, description="Registrations at most 1 + gap days apart form one episode"
    )
    merge_gap_days_by_type: dict[str, int] = Field(
        default_factory=dict, description="Per TypeOpvang code: a gap overriding merge_gap_days"
    )
    end_date_precedence: list[str] = Field(
        default_factory=list,
        description="Sources whose end dates win when registrations disagree on an episode's end",
    )

    @field_validator("merge_gap_days_by_type")
    @classmethod
    def _type_codes(cls, value: dict[str, int]) -> dict[str, int]:
        for code, days in value.items():
            if code not in TYPE_OPVANG:
                raise located(
                    f"{code!r} is not a TypeOpvang code; expected one of {', '.join(TYPE_OPVANG)}",
                    code,
                )
            if not 0 <= days <= 366:
                raise located(f"gap must be 0..366 days, got {days}", code)
        return value


class Repair(Strict):
    excel_damage: bool = Field(
        True,
        description="Pad BSNs/gemeentecodes that lost leading zeros (when then valid) and turn "
        "'363.0' into '363'; every repair is reported",
    )


#: Field -> the protocol's code list and its name in messages.
_CODE_LISTS = {
    "type_opvang": (TYPE_OPVANG, "TypeOpvang"),
    "reden": (REDEN_BEEINDIGING, "Reden beëindiging"),
}


def _check_codes(value: dict[str, str], allowed: Any, what: str) -> dict[str, str]:
    for label, code in value.items():
        if code != EXCLUDE and code not in allowed:
            raise located(
                f"{code!r} is not a {what} code of the protocol; expected one of "
                f"{', '.join(allowed)} or '{EXCLUDE}'",
                label,
            )
    return value


class ValueMappings(Strict):
    """Local label -> protocol code, or `exclude` (out of scope, never delivered)."""

    match: Literal["exact", "casefold"] | None = Field(
        None,
        description="exact (default) or casefold: ignore case and surrounding/repeated spaces",
    )
    type_opvang: dict[str, str] = Field(
        default_factory=dict, description="label -> TypeOpvang code or exclude"
    )
    reden: dict[str, str] = Field(
        default_factory=dict, description="label -> Reden code or exclude"
    )
    gemeente: dict[str, str] = Field(
        default_factory=dict,
        description="label -> 4-digit gemeentecode or exclude (names in the reference list map "
        "by themselves)",
    )
    status: dict[str, Literal["ended", "ended_unknown", "open", "exclude"]] = Field(
        default_factory=dict,
        description="status label -> ended | ended_unknown | open | exclude; a row whose status "
        "says ended but has no end date ended on an unknown date",
    )

    @field_validator("type_opvang", "reden", mode="before")
    @classmethod
    def _protocol_codes(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, dict):
            return value
        codes, what = _CODE_LISTS[info.field_name]
        return _check_codes(_texts(value), codes, what)

    @field_validator("gemeente", mode="before")
    @classmethod
    def _gemeente_codes(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        value = _texts(value)
        for label, code in value.items():
            if code != EXCLUDE and not re.fullmatch(FIELD_BY_KEY["gemeentecode"].regex, code):
                raise located(f"{code!r} is not a 4-digit gemeentecode (or '{EXCLUDE}')", label)
        return value


def _texts(value: dict) -> dict[str, str]:
    """YAML reads `0201` as text but `201` or `2` as numbers: keep codes as written text."""
    return {str(k): v if isinstance(v, str) else str(v) for k, v in value.items()}


class Columns(Strict):
    """Canonical field -> column name in the source."""

    bsn: str | None = None
    v_nummer: str | None = None
    client_id: str | None = Field(None, description="The system's own person key")
    gemeente: str | None = Field(None, description="Gemeentecode or municipality name")
    type_opvang: str | None = None
    startdatum: str | None = None
    einddatum: str | None = None
    reden: str | None = None
    datum_melding: str | None = None
    datum: str | None = Field(None, description="Night granularity: the night's date")
    status: str | None = Field(None, description="Values mapped by mappings.status")


class Constants(Strict):
    """A value for the whole source, e.g. the source is one gemeente or one type."""

    gemeente: str | None = None
    type_opvang: str | None = None
    reden: str | None = None

    @field_validator("gemeente", "type_opvang", "reden", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("type_opvang", "reden")
    @classmethod
    def _protocol_code(cls, value: str | None, info: ValidationInfo) -> str | None:
        codes, what = _CODE_LISTS[info.field_name]
        if value is not None and value not in codes:
            raise ValueError(f"{value!r} is not a {what} code; expected one of {', '.join(codes)}")
        return value


_DIRECTIVE = re.compile(r"%[-_0^#]?[A-Za-z%]")
#: strftime directives that make sense in a date column (chrono's, as Polars uses them)
_DATE_DIRECTIVES = frozenset("dembBhYyjCgGuwaAUWVHIMSfpPzZTFDRrcx%")
_DAY_DIRECTIVES = frozenset("dejFDc")  # a pattern must at least say which day


class SourceBase(Strict):
    granularity: Literal["episode", "night"] = Field(
        "episode", description="episode: one row per stay; night: one row per night (bed list)"
    )
    columns: Columns
    constants: Constants = Constants()
    dates: dict[
        Literal["default", "startdatum", "einddatum", "datum_melding", "datum"], list[str]
    ] = Field(
        default_factory=dict,
        description="strftime patterns per date column (or `default`); ISO and Excel serial "
        "numbers are always accepted",
    )
    mappings: ValueMappings = Field(
        ValueMappings(), description="Per-source value mappings; override the shared ones"
    )

    @field_validator("dates", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("dates")
    @classmethod
    def _date_patterns(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        """A typo like `%Q` or `d-m-Y` would otherwise only show as 'every date unparseable'."""
        for key, patterns in value.items():
            for index, pattern in enumerate(patterns):
                directives = _DIRECTIVE.findall(pattern)
                unknown = sorted({d for d in directives if d[-1] not in _DATE_DIRECTIVES})
                if unknown or not {d[-1] for d in directives} & _DAY_DIRECTIVES:
                    raise located(
                        f"date pattern {pattern!r} is not a strftime date pattern"
                        + (f" (unknown {', '.join(unknown)})" if unknown else "")
                        + "; write e.g. '%d-%m-%Y'",
                        key,
                        index,
                    )
        return value

    @model_validator(mode="after")
    def _complete(self) -> SourceBase:
        cols, consts = self.columns, self.constants
        for name in ("gemeente", "type_opvang", "reden"):
            if getattr(cols, name) and getattr(consts, name):
                raise located(
                    f"{name} is both a column and a constant; keep one", "constants", name
                )
        if self.granularity == "episode":
            if cols.datum:
                raise located(
                    "`datum` is for granularity: night; map startdatum/einddatum",
                    "columns",
                    "datum",
                )
            if not cols.startdatum:
                raise located("an episode source needs a startdatum column", "columns")
        else:
            for name in ("startdatum", "einddatum"):
                if getattr(cols, name):
                    raise located(
                        f"a night source has one date column: map `datum`, not {name}",
                        "columns",
                        name,
                    )
            if not cols.datum:
                raise located("a night source needs a `datum` column (the night's date)", "columns")
        if not (cols.gemeente or consts.gemeente):
            raise located(
                "gemeente needs a column or a constant (constants: {gemeente: '0363'})", "columns"
            )
        if not (cols.type_opvang or consts.type_opvang):
            raise located("type_opvang needs a column or a constant", "columns")
        if not (cols.bsn or cols.v_nummer or cols.client_id):
            raise located("map at least one person key: bsn, v_nummer or client_id", "columns")
        return self

    def mapped_columns(self) -> dict[str, str]:
        """Canonical field -> source column, for the columns that are mapped."""
        return {k: v for k, v in self.columns.model_dump().items() if v}


class FileSource(SourceBase):
    path: Path = Field(description="File path, relative to this YAML file")

    @field_validator("path")
    @classmethod
    def _relative_to_yaml(cls, value: Path, info: ValidationInfo) -> Path:
        return _resolve(value, info)  # type: ignore[return-value]


class CsvSource(FileSource):
    kind: Literal["csv"]
    encoding: Literal["auto", "utf-8", "utf-8-sig", "cp1252", "latin-1"] = Field(
        "auto", description="auto: utf-8(-sig) when the bytes are valid UTF-8, else cp1252"
    )
    delimiter: str | None = Field(
        None,
        min_length=1,
        max_length=1,
        description="Field separator; default: sniffed from the header",
    )
    quote_char: str | None = Field('"', max_length=1)


class ExcelSource(FileSource):
    kind: Literal["excel"]
    sheet: str | int = Field(0, description="Sheet name, or 0-based index")
    header_row: int = Field(1, ge=1, description="1-based row holding the column names")


class ParquetSource(FileSource):
    kind: Literal["parquet"]


_LITERAL_PASSWORD = re.compile(r"^[A-Za-z0-9+._-]+://[^:/@]*:(?P<pw>[^@]*)@")


class SqlSource(SourceBase):
    kind: Literal["sql"]
    url: str = Field(
        description="SQLAlchemy URL, from an environment variable: ${MO_DATABASE_URL}; a "
        "relative sqlite:/// path is resolved against this YAML file"
    )
    query: str | None = Field(None, description="SELECT statement (or give `table`)")
    table: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$")
    engine: Literal["auto", "connectorx", "sqlalchemy"] = Field(
        "auto", description="auto: connectorx where it applies, else SQLAlchemy"
    )

    @field_validator("url")
    @classmethod
    def _resolve_sqlite(cls, value: str, info: ValidationInfo) -> str:
        prefix = "sqlite:///"
        if value.startswith(prefix) and not value.startswith(prefix + "/") and value != prefix:
            rest = value[len(prefix) :]
            path, _, params = rest.partition("?")
            if path != ":memory:":
                resolved = (_base_dir(info) / path).resolve()
                value = prefix + str(resolved) + (f"?{params}" if params else "")
        return value

    @model_validator(mode="after")
    def _query_or_table(self) -> SqlSource:
        if bool(self.query) == bool(self.table):
            raise located(
                "give exactly one of `query` or `table`", "query" if self.query else "table"
            )
        return self


SourceConfig = Annotated[
    CsvSource | ExcelSource | ParquetSource | SqlSource, Field(discriminator="kind")
]
SOURCE_KINDS = ("csv", "excel", "parquet", "sql")


class Pipeline(Strict):
    """One delivery: where the data is, what it means, how the run treats it."""

    delivery: Delivery
    persons: Persons = Persons()
    episodes: Episodes = Episodes()
    repair: Repair = Repair()
    mappings: ValueMappings = Field(ValueMappings(), description="Shared value mappings")
    sources: dict[str, SourceConfig] = Field(min_length=1)

    _path: Path = PrivateAttr(default=Path("pipeline.yaml"))
    _config_hash: str = PrivateAttr(default="")
    _marks: dict[tuple, tuple[int, int]] = PrivateAttr(default_factory=dict)

    @field_validator("sources")
    @classmethod
    def _source_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", name):
                raise located(
                    "a source name is letters, digits, '_' or '-', starting with a letter", name
                )
        return value

    @model_validator(mode="after")
    def _precedence_names_sources(self) -> Pipeline:
        for i, name in enumerate(self.episodes.end_date_precedence):
            if name not in self.sources:
                raise located(
                    f"{name!r} is not a source; expected one of {', '.join(self.sources)}",
                    "episodes",
                    "end_date_precedence",
                    i,
                )
        return self

    @property
    def path(self) -> Path:
        """The YAML file this pipeline was loaded from."""
        return self._path

    @property
    def config_hash(self) -> str:
        """sha256 of the YAML content as data (comments and layout do not change it)."""
        return self._config_hash

    def gap_days_for(self, type_code: str) -> int:
        return self.episodes.merge_gap_days_by_type.get(type_code, self.episodes.merge_gap_days)

    def mappings_for(self, source: str) -> ValueMappings:
        """The shared mappings with the source's own entries on top."""
        own = self.sources[source].mappings
        merged = {
            key: {**getattr(self.mappings, key), **getattr(own, key)}
            for key in ("type_opvang", "reden", "gemeente", "status")
        }
        match = own.match or self.mappings.match or "exact"
        return ValueMappings.model_construct(match=match, **merged)

    def where(self, *key_path: str | int) -> str:
        """`file:line:column: key.path` of a key, for errors found after loading."""
        mark = None
        for n in range(len(key_path), 0, -1):
            mark = self._marks.get(tuple(key_path[:n]))
            if mark:
                break
        line, col = mark or (1, 1)
        return f"{self._path}:{line}:{col}: {'.'.join(map(str, key_path))}"
