"""Where a run's events go: a readable display for people, JSON lines for schedulers.

On a terminal: rich progress per source, warnings as they come, a summary at the end. Not on a
terminal, or with `log_format="json"`: one JSON object per line (time, level, event, source,
counts) for journald or a cron mail. `quiet`: only the verdict and the problems.

Every line passes `scrub` before it is written: whatever a caller puts in an event, an 8- to
10-digit number (a BSN or V-nummer shape) is masked. This is the last line of defence, not the
first: messages are built without personal data to begin with. What is not masked: the counts
the log has seen as integers (a run may read 12 million rows, and its summary says so), valid
8-digit dates, and `999999999`, the protocol's "BSN unknown" (no one's number).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from dakl_etl.protocol.codes import UNKNOWN_BSN
from dakl_etl.protocol.privacy import mask

LogFormat = Literal["auto", "text", "json"]
LOG_FORMATS: tuple[str, ...] = ("auto", "text", "json")
LEVELS = ("debug", "info", "warning", "error")
PROBLEM_LEVELS = frozenset({"warning", "error"})

# A BSN has 9 digits, a V-nummer 10; longer digit runs (Aanmaakdatum, 12) and shorter ones
# (dates, codes) are left alone. An 8-digit BSN that lost its leading zero is masked as well.
_PERSONAL_NUMBER = re.compile(r"(?<!\d)\d{8,10}(?!\d)")
_DATE = re.compile(r"(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])")  # ASCII only


def scrub(text: str, counts: Collection[int] = ()) -> str:
    """Mask every BSN- or V-nummer-shaped number in `text`; see the module doc for what stays.

    `counts`: integers the caller put into the text itself (row counts); a number written
    without a leading zero that equals one of them is a count, not a person's number.
    """
    return _PERSONAL_NUMBER.sub(lambda match: _mask_match(match, counts), text)


_PERSONAL_KEY = re.compile(r"^(bsn|v[_-]?nummer|burgerservicenummer|value)$", re.IGNORECASE)


def scrub_value(value: Any, key: str = "", counts: Collection[int] = ()) -> Any:
    """`scrub` inside dicts and lists. Integers are counts (a run may read 10 million rows)
    and stay, except under a key that names personal data (`bsn`, `v_nummer`, `value`)."""
    if isinstance(value, str):  # under a personal key, no number is taken for a count
        return scrub(value, () if _PERSONAL_KEY.search(key) else counts)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return mask(value) if _PERSONAL_KEY.search(key) else value
    if isinstance(value, dict):
        return {scrub(str(k), counts): scrub_value(v, str(k), counts) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub_value(v, key, counts) for v in value]
    return scrub(str(value), counts)


def counts_in(value: Any, key: str = "") -> set[int]:
    """The integers `scrub_value` keeps (not under a personal key): the counts of an event."""
    if isinstance(value, bool):
        return set()
    if isinstance(value, int):
        return set() if _PERSONAL_KEY.search(key) else {value}
    if isinstance(value, dict):
        return set().union(*(counts_in(v, str(k)) for k, v in value.items()))
    if isinstance(value, list | tuple | set | frozenset):
        return set().union(*(counts_in(v, key) for v in value))
    return set()


def _mask_match(match: re.Match[str], counts: Collection[int] = ()) -> str:
    value = match.group(0)
    if value == UNKNOWN_BSN or (len(value) == 8 and _DATE.fullmatch(value)):
        return value
    if value.isascii() and not value.startswith("0") and int(value) in counts:
        return value
    return mask(value)


class EventLog:
    """A run's event sink; also usable as `on_event(event, fields)` for the run itself.

    Progress events (`source_start`, `source_progress`, `source_done`, fields `source`, `rows`,
    optional `total`) drive the progress display on a terminal; elsewhere only `source_done`
    is logged. The run's own events map onto them: `run_started` (field `sources`) starts a
    task per source, `source_rows` (field `read`) completes it, `run_finished` ends the display.
    An event's level is `fields["level"]` (default info).
    """

    def __init__(
        self,
        *,
        log_format: LogFormat = "auto",
        quiet: bool = False,
        stream: TextIO | None = None,
        summary_stream: TextIO | None = None,
    ) -> None:
        if log_format not in LOG_FORMATS:
            raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}")
        self.stream = stream or sys.stderr
        self.summary_stream = summary_stream or sys.stdout
        self.tty = _isatty(self.stream)
        self.json = log_format == "json" or (log_format == "auto" and not self.tty)
        self.quiet = quiet
        # On a terminal the progress display and the summary say what info events would.
        self.show_info = not quiet and not (self.tty and log_format == "auto")
        #: every integer count seen in an event: quoted in a text, it is not masked
        self.counts: set[int] = set()
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}
        self._console: Any = None
        #: renders the run's own outcome at the top of the text summary (set by the caller)
        self.outcome_text: Any = None

    # -- events ---------------------------------------------------------------------------
    def __call__(self, event: str, fields: dict[str, Any] | None = None) -> None:
        self.emit(event, **(fields or {}))

    def emit(self, event: str, *, level: str = "info", **fields: Any) -> None:
        if level not in LEVELS:
            level = "info"
        self.counts |= counts_in(fields)
        if self.json:
            if self.quiet and level not in PROBLEM_LEVELS:
                return
            if event == "source_progress":
                return  # counts arrive with source_done; a journal needs no ticker
            self._write_json({"level": level, "event": event, **fields})
            return
        if self._progress_on():
            self._follow_run(event, fields)
        if event in ("source_start", "source_progress", "source_done") and self._progress_on():
            self._advance(event, fields)
            if event != "source_done":
                return
        if not self.show_info and level not in PROBLEM_LEVELS:
            return
        if event in ("source_start", "source_progress"):
            return
        self._write_text(level, event, fields)

    def info(self, event: str, message: str | None = None, **fields: Any) -> None:
        self.emit(event, level="info", **_with_message(message, fields))

    def warning(self, event: str, message: str, **fields: Any) -> None:
        self.emit(event, level="warning", **_with_message(message, fields))

    def error(self, event: str, message: str, **fields: Any) -> None:
        self.emit(event, level="error", **_with_message(message, fields))

    def summary(
        self,
        verdict: str,
        lines: list[str],
        ok: bool,
        data: dict[str, Any],
        counts: Collection[int] = (),
    ) -> None:
        """The end of a run: the verdict line (always), the details (unless quiet).

        `counts`: the integers `lines` quote (ledger, rows, findings) besides those in `data`.
        """
        self.close()
        self.counts |= counts_in(data) | set(counts)
        if self.json:
            self._write_json(
                {"level": "info" if ok else "error", "event": "summary", "message": verdict, **data}
            )
            return
        text = [verdict] if self.quiet else [*lines, verdict]
        self.summary_stream.write(scrub("\n".join(text), self.counts) + "\n")
        self.summary_stream.flush()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    # -- rendering ------------------------------------------------------------------------
    def _write_json(self, record: dict[str, Any]) -> None:
        line = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **record}
        self.stream.write(json.dumps(scrub_value(line, "", self.counts), ensure_ascii=False) + "\n")
        self.stream.flush()

    def _write_text(self, level: str, event: str, fields: dict[str, Any]) -> None:
        fields = dict(fields)
        message = fields.pop("message", None)
        source = fields.pop("source", None)
        head = f"{level}: " if level in PROBLEM_LEVELS else ""
        where = f"[{source}] " if source else ""
        rest = " ".join(f"{k}={v}" for k, v in fields.items())
        body = message if message else event.replace("_", " ")
        line = scrub(f"{head}{where}{body}" + (f" ({rest})" if rest else ""), self.counts)
        if self._progress is not None:
            self._progress.console.print(line, markup=False, highlight=False)
        else:
            self.stream.write(line + "\n")
            self.stream.flush()

    def _follow_run(self, event: str, fields: dict[str, Any]) -> None:
        if event == "run_started" and isinstance(fields.get("sources"), list | tuple):
            for source in fields["sources"]:
                self._advance("source_start", {"source": source})
        elif event == "source_rows" and "source" in fields:
            self._advance("source_done", {"source": fields["source"], "rows": fields.get("read")})
        elif event == "run_finished":
            self.close()

    def _progress_on(self) -> bool:
        return self.tty and not self.quiet

    def _advance(self, event: str, fields: dict[str, Any]) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        if self._progress is None:
            self._console = Console(file=self.stream)
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:,.0f} rows"),
                TimeElapsedColumn(),
                console=self._console,
            )
            self._progress.start()
        source = str(fields.get("source", "?"))
        if source not in self._tasks:
            self._tasks[source] = self._progress.add_task(scrub(source), total=fields.get("total"))
        task = self._tasks[source]
        rows = fields.get("rows")
        if rows is not None:
            self._progress.update(task, completed=rows)
        if fields.get("total") is not None:
            self._progress.update(task, total=fields["total"])
        if event == "source_done":
            total = rows if rows is not None else fields.get("total")
            self._progress.update(task, total=total, completed=total)


def _with_message(message: str | None, fields: dict[str, Any]) -> dict[str, Any]:
    return {"message": message, **fields} if message is not None else fields


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
