"""Load a pipeline YAML: every error becomes `file:line:column: key.path: what was expected`.

ruamel.yaml's round-trip loader keeps the line and column of every key and value; a pydantic
error's location is walked back through the YAML tree to find them.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarint import ScalarInt

from dakl_etl.config.models import _LITERAL_PASSWORD, SOURCE_KINDS, Pipeline
from dakl_etl.errors import ConfigError

Loc = tuple[str | int, ...]
_ENV = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")
_KIND_ALIASES = {
    "xlsx": "excel",
    "xls": "excel",
    "xlsm": "excel",
    "txt": "csv",
    "tsv": "csv",
    "sqlite": "sql",
    "postgres": "sql",
    "postgresql": "sql",
    "mysql": "sql",
    "database": "sql",
    "db": "sql",
    "pq": "parquet",
}


def load_pipeline(path: str | Path) -> Pipeline:
    """Read and validate a pipeline YAML; raise `ConfigError` naming file, line, column, key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: pipeline file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: pipeline file is not UTF-8; save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the pipeline file ({exc.strerror})") from None
    try:
        tree = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: YAML syntax: {exc.problem or exc.context}") from None
    except YAMLError as exc:
        raise ConfigError(f"{path}: YAML syntax: {type(exc).__name__}") from None
    if not isinstance(tree, CommentedMap):
        raise ConfigError(f"{path}:1:1: expected a mapping with keys delivery, sources, …")

    marks: dict[Loc, tuple[int, int]] = {}
    value_marks: dict[Loc, tuple[int, int]] = {}
    _collect_marks(tree, (), marks, value_marks)
    located = _Locator(path, marks, value_marks)
    plain = _plain(tree)
    config_hash = hashlib.sha256(
        json.dumps(plain, sort_keys=True, default=str).encode()
    ).hexdigest()
    _refuse_literal_passwords(plain, located)
    data = _expand_env(plain, (), located)
    try:
        pipeline = Pipeline.model_validate(data, context={"base_dir": path.resolve().parent})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, data, located)) from None
    pipeline._path = path
    pipeline._config_hash = config_hash
    pipeline._marks = marks
    return pipeline


class _Locator:
    def __init__(self, path: Path, marks: dict, value_marks: dict) -> None:
        self.path, self.marks, self.value_marks = path, marks, value_marks

    def __call__(self, loc: Loc, *, value: bool = True) -> str:
        table = self.value_marks if value else self.marks
        for n in range(len(loc), -1, -1):
            mark = table.get(loc[:n]) or self.marks.get(loc[:n])
            if mark:
                break
        line, col = mark or (1, 1)
        key = ".".join(map(str, loc)) or "(top)"
        return f"{self.path}:{line}:{col}: {key}"


def _collect_marks(node: Any, loc: Loc, marks: dict, value_marks: dict) -> None:
    if isinstance(node, CommentedMap):
        marks.setdefault(loc, (node.lc.line + 1, node.lc.col + 1))
        for key in node:
            k = _key(key)
            line, col = node.lc.key(key)
            marks[(*loc, k)] = (line + 1, col + 1)
            vline, vcol = node.lc.value(key)
            value_marks[(*loc, k)] = (vline + 1, vcol + 1)
            _collect_marks(node[key], (*loc, k), marks, value_marks)
    elif isinstance(node, CommentedSeq):
        marks.setdefault(loc, (node.lc.line + 1, node.lc.col + 1))
        for i, item in enumerate(node):
            line, col = node.lc.item(i)
            marks[(*loc, i)] = value_marks[(*loc, i)] = (line + 1, col + 1)
            _collect_marks(item, (*loc, i), marks, value_marks)


def _key(key: Any) -> Any:
    return _scalar(key) if isinstance(key, ScalarInt | int) else key


def _scalar(value: Any) -> Any:
    """`0201` in YAML is an int with width 4: keep it as the text the person wrote."""
    width = getattr(value, "_width", None)
    if isinstance(value, ScalarInt) and width and width > len(str(int(value))):
        return str(int(value)).zfill(width)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str(value)
    return value


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {_key(k) if not isinstance(k, str) else str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return _scalar(node)


def _expand_env(node: Any, loc: Loc, where: _Locator) -> Any:
    """`${VAR}` (or `${VAR:-default}`) in strings from the environment; unset is an error."""
    if isinstance(node, dict):
        return {k: _expand_env(v, (*loc, k), where) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand_env(v, (*loc, i), where) for i, v in enumerate(node)]
    if not isinstance(node, str) or "${" not in node:
        return node

    def value_of(match: re.Match) -> str:
        name, default = match["name"], match["default"]
        found = os.environ.get(name)
        if found is None and default is None:
            raise ConfigError(
                f"{where(loc)}: environment variable {name} is not set; set it before the run "
                f"(export {name}=…) or write ${{{name}:-default}} for a default"
            )
        return found if found is not None else default

    return _ENV.sub(value_of, node)


def _refuse_literal_passwords(plain: dict, where: _Locator) -> None:
    sources = plain.get("sources")
    if not isinstance(sources, dict):
        return
    for name, source in sources.items():
        url = source.get("url") if isinstance(source, dict) else None
        if not isinstance(url, str):
            continue
        # The URL itself, and any default written in it (${VAR:-postgresql://u:pw@h/db}).
        candidates = [url, *(m["default"] for m in _ENV.finditer(url) if m["default"])]
        if any(_has_literal_password(c) for c in candidates):
            raise ConfigError(
                f"{where(('sources', name, 'url'))}: a password written in the pipeline file is "
                "refused; put the whole URL in an environment variable (url: ${MO_DATABASE_URL}) "
                "or the password (postgresql://user:${DB_PASSWORD}@host/db)"
            )


def _has_literal_password(url: str) -> bool:
    match = _LITERAL_PASSWORD.match(url)
    return bool(match and match["pw"] and not _ENV.fullmatch(match["pw"]))


def _describe(exc: ValidationError, data: Any, where: _Locator) -> str:
    """One line: the most telling error, located, and how many more there are.

    A misspelt key causes two errors (unknown `yaer`, missing `year`): the unknown key is the
    one to report, and the missing key it would have been is not counted again.
    """
    errors = exc.errors(include_url=False, include_input=False)
    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    meant = {
        (tuple(e["loc"][:-1]), close)
        for e in unknown
        for close in difflib.get_close_matches(str(e["loc"][-1]), _missing_names(errors), n=3)
    }
    errors = [
        e
        for e in errors
        if not (e["type"] == "missing" and (tuple(e["loc"][:-1]), e["loc"][-1]) in meant)
    ]
    errors.sort(key=lambda e: e["type"] != "extra_forbidden")
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return _one(errors[0], data, where) + more


def _missing_names(errors: list[dict]) -> list[str]:
    return [str(e["loc"][-1]) for e in errors if e["type"] == "missing"]


def _one(err: dict, data: Any, where: _Locator) -> str:
    loc = _yaml_loc(tuple(err["loc"]), data)
    ctx = err.get("ctx") or {}
    kind = err["type"]
    if kind == "dakl_config":
        loc = (*loc, *ctx.get("at", ()))
        return f"{where(loc, value=False)}: {ctx['message']}"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1], data)
        hint = _did_you_mean(str(loc[-1]), allowed)
        listed = f"; expected one of {', '.join(allowed)}" if allowed else ""
        return f"{where(loc, value=False)}: unknown key{listed}{hint}"
    if kind == "missing":
        return f"{where(loc[:-1], value=False)}.{loc[-1]}: required key missing"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tag = ctx.get("tag")
        if tag is None:
            return (
                f"{where(loc, value=False)}: a source needs `kind:` — one of "
                f"{', '.join(SOURCE_KINDS)}"
            )
        guess = _KIND_ALIASES.get(str(tag).lower())
        hint = f" (did you mean '{guess}'?)" if guess else _did_you_mean(str(tag), SOURCE_KINDS)
        return (
            f"{where((*loc, 'kind'))}: unknown source kind {tag!r}; expected one of "
            f"{', '.join(SOURCE_KINDS)}{hint}"
        )
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        options = re.findall(r"'([^']*)'", expected)
        got = _value_at(loc, data)
        hint = _did_you_mean(str(got), options) if got is not None else ""
        return f"{where(loc)}: expected {expected}, got {got!r}{hint}"
    if kind == "value_error":  # our validators' messages already quote the value
        return f"{where(loc)}: {err['msg'].removeprefix('Value error, ')}"
    got = _value_at(loc, data)
    shown = f", got {got!r}" if isinstance(got, str | int | float) and len(repr(got)) < 80 else ""
    return f"{where(loc)}: {err['msg']}{shown}"


def _yaml_loc(loc: Loc, data: Any) -> Loc:
    """Drop the union tags pydantic inserts: `sources.x.csv.columns` -> `sources.x.columns`."""
    out: list = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part not in node and node.get("kind") == part:
            continue
        if isinstance(part, str) and part.startswith("function-"):
            continue
        out.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(out)


def _value_at(loc: Loc, data: Any) -> Any:
    node = data
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _allowed_keys(loc: Loc, data: Any) -> list[str]:
    """The field names of the model found at `loc`, following the annotations from Pipeline."""
    model: Any = Pipeline
    node = data
    for part in loc:
        if isinstance(node, dict):
            node = node.get(part)
        model = _step(model, part, node)
        if model is None:
            return []
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _step(model: Any, part: Any, node: Any) -> Any:
    if isinstance(model, type) and issubclass(model, BaseModel):
        field = model.model_fields.get(part)
        return _unwrap(field.annotation, node) if field else None
    origin = typing.get_origin(model)
    if origin is dict or origin is list:
        return _unwrap(typing.get_args(model)[-1], node)
    return None


def _unwrap(annotation: Any, node: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0], node)
    if origin in (typing.Union, types.UnionType):
        models = [a for a in typing.get_args(annotation) if a is not type(None)]
        kind = node.get("kind") if isinstance(node, dict) else None
        for candidate in models:
            field = getattr(candidate, "model_fields", {}).get("kind")
            if field is not None and kind in typing.get_args(field.annotation):
                return candidate
        return models[0] if len(models) == 1 else None
    return annotation


def _did_you_mean(word: str, options: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    if not close:
        folded = {o.lower(): o for o in options}
        close = [folded[word.lower()]] if word.lower() in folded else []
    return f" (did you mean '{close[0]}'?)" if close else ""
