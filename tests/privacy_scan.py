"""Scan everything a run wrote for personal numbers: the test helper of the privacy guard.

`scan` looks for every known BSN and V-nummer as plain bytes (and UTF-16, as some tools write)
in the given files and blobs. DAKL files are the one place where they belong and are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

DAKL_NAME = re.compile(r"^DAKL_J\d{4}.*\.(csv|txt)$", re.IGNORECASE)


@dataclass(frozen=True)
class Leak:
    where: str  # file path or blob name
    value: str  # masked: the scanner's own output must not leak
    offset: int

    def __str__(self) -> str:
        return f"{self.where}@{self.offset}: {self.value}"


def _masked(value: str) -> str:
    return "*" * (len(value) - 3) + value[-3:]


def scan(
    numbers: Iterable[str],
    *,
    roots: Iterable[str | Path] = (),
    blobs: Mapping[str, bytes | str] | None = None,
    skip: re.Pattern[str] = DAKL_NAME,
) -> list[Leak]:
    """Every occurrence of any of `numbers` not surrounded by other digits."""
    values = sorted({n for n in numbers if n}, key=len, reverse=True)
    if not values:
        raise ValueError("nothing to scan for: no BSNs or V-nummers given")
    alternatives = b"|".join(re.escape(v.encode()) for v in values)
    patterns = [
        re.compile(rb"(?<![0-9])(" + alternatives + rb")(?![0-9])"),
        re.compile(b"|".join(re.escape(v.encode("utf-16-le")) for v in values)),
    ]
    leaks: list[Leak] = []

    def check(where: str, data: bytes) -> None:
        for pattern in patterns:
            for match in pattern.finditer(data):
                raw = match.group(0)
                text = raw.decode("utf-16-le") if b"\x00" in raw else raw.decode()
                leaks.append(Leak(where, _masked(text), match.start()))

    for root in roots:
        root = Path(root)
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if path.is_symlink() or skip.match(path.name):
                continue
            check(str(path), path.read_bytes())
    for name, data in (blobs or {}).items():
        check(name, data.encode() if isinstance(data, str) else data)
    return leaks
