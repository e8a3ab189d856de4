"""Generate the sample source systems of a synthetic region (seeded, reproducible).

    .venv/bin/python data/sample/make_sample.py

Writes beside this script:
- gemeente_zaken.csv — the municipality's case system: cp1252, ';', dd-mm-yyyy, Dutch labels and
  municipality names;
- nachtregistratie.xlsx — nightly bed lists: one row per person per night, several locations;
- mo_clienten.sqlite — the shelter organisation's client system: tables clienten and verblijven.

All BSNs are synthetic (elfproef-valid, starting with 9), except the planted defects, which
`dakl-etl check pipelines/sample.yaml` must find:
- an unmapped label: "Crisisopvang" in the case system (2 rows);
- an unparseable date: Begindatum "31-02-2024" in the case system;
- an invalid BSN (fails the elfproef) in the case system;
- BSNs that lost their leading zero: one 8-digit BSN in the case system and one stored as a
  number in the bed list (both elfproef-valid once padded with the zero);
- a gemeentecode that lost its leading zero (356 for 0356) in the bed list.
Also out-of-scope labels (Beschermd wonen, Vrouwenopvang, Housing First), persons present in two
systems with the same stay, and persons without BSN (V-nummer only, or only a client id).
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20250424
_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2)
GEMEENTEN = {
    "Utrecht": "0344",
    "Nieuwegein": "0356",
    "Zeist": "0355",
    "Houten": "0321",
    "IJsselstein": "0353",
}
CSV_TYPES = ["Nachtopvang", "Noodopvang", "24-uursopvang", "Doorstroomwoning", "Winteropvang"]
CSV_REDEN = [
    "Volgens plan",
    "Door cliënt beëindigd",
    "Door aanbieder beëindigd",
    "In overleg voortijdig",
    "Onbekend",
]
MO_TYPES = ["24-uurs opvang", "Doorstroomwoning", "Tijdelijke opvang", "Omklapwoning"]


def complete_bsn(first8: str) -> str | None:
    last = sum(int(d) * w for d, w in zip(first8, _WEIGHTS, strict=True)) % 11
    return first8 + str(last) if last < 10 else None


def bsns(rng: random.Random, n: int, first: str = "9") -> list[str]:
    out: list[str] = []
    while len(out) < n:
        bsn = complete_bsn(first + "".join(rng.choice("0123456789") for _ in range(7)))
        if bsn and bsn not in out and bsn != "000000000":
            out.append(bsn)
    return out


def day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randrange((end - start).days))


def nl(date: dt.date | None) -> str:
    return date.strftime("%d-%m-%Y") if date else ""


def make(rng: random.Random) -> dict:
    people = bsns(rng, 160)
    zero_bsn = bsns(rng, 2, first="0")  # lose their leading zero in Excel
    v_nummers = [f"{rng.randrange(10**9, 10**10)}" for _ in range(12)]
    shared = people[:15]  # persons present in the case system and in the MO system
    return {"people": people, "zero_bsn": zero_bsn, "v_nummers": v_nummers, "shared": shared}


def episode(rng: random.Random) -> tuple[dt.date, dt.date | None]:
    start = day(rng, dt.date(2022, 1, 3), dt.date(2025, 3, 1))
    if rng.random() < 0.25 and start > dt.date(2024, 6, 1):
        return start, None  # still in shelter
    end = start + dt.timedelta(days=rng.randrange(1, 240))
    return start, (end if end < dt.date(2025, 4, 1) else None)


def case_system(rng: random.Random, ids: dict) -> tuple[list[list[str]], list[tuple]]:
    """Rows of the municipal CSV and the stays it shares with the MO system."""
    header = [
        "Zaaknummer",
        "BSN",
        "V-nummer",
        "Gemeente",
        "Voorziening",
        "Begindatum",
        "Einddatum",
        "Reden",
        "Meldingsdatum",
        "Status",
    ]
    rows, shared_stays = [header], []
    names = list(GEMEENTEN)
    for i, bsn in enumerate(ids["people"][:110]):
        for _ in range(rng.choice((1, 1, 2, 3))):
            start, end = episode(rng)
            kind = rng.choice(CSV_TYPES)
            melding = (
                start - dt.timedelta(days=rng.randrange(0, 40)) if rng.random() < 0.7 else None
            )
            reden = rng.choice(CSV_REDEN) if end and rng.random() < 0.8 else ""
            status = "Lopend" if end is None else "Afgesloten"
            if end is None and rng.random() < 0.15:
                status = "Afgesloten, datum onbekend"
            rows.append(
                [
                    f"Z{2022000 + len(rows)}",
                    bsn,
                    "",
                    rng.choice(names[:3]) if rng.random() < 0.9 else rng.choice(names),
                    kind,
                    nl(start),
                    nl(end),
                    reden,
                    nl(melding),
                    status,
                ]
            )
            if bsn in ids["shared"] and len(shared_stays) < len(ids["shared"]):
                rows[-1][4] = "24-uursopvang"
                shared_stays.append((bsn, start, end, rows[-1][3]))
                rows[-1][7] = "Volgens plan" if end else ""
        if i % 37 == 5:  # out of scope
            rows.append(
                [
                    f"Z{2022000 + len(rows)}",
                    bsn,
                    "",
                    "Utrecht",
                    rng.choice(["Beschermd wonen", "Vrouwenopvang"]),
                    nl(dt.date(2023, 5, 1)),
                    "",
                    "",
                    "",
                    "Lopend",
                ]
            )
    for v in ids["v_nummers"][:6]:  # no BSN, but a V-nummer
        start, end = episode(rng)
        rows.append(
            [
                f"Z{2022000 + len(rows)}",
                "",
                v,
                "Utrecht",
                "Noodopvang",
                nl(start),
                nl(end),
                "Onbekend" if end else "",
                "",
                "Lopend" if end is None else "",
            ]
        )
    for _ in range(4):  # BSN unknown and said so
        start, end = episode(rng)
        rows.append(
            [
                f"Z{2022000 + len(rows)}",
                "999999999",
                "",
                "Zeist",
                "Nachtopvang",
                nl(start),
                nl(end),
                "",
                "",
                "",
            ]
        )
    # Planted defects.
    planted = [
        [
            "Z2029001",
            ids["people"][120],
            "",
            "Utrecht",
            "Crisisopvang",
            "04-03-2024",
            "18-03-2024",
            "Volgens plan",
            "",
            "Afgesloten",
        ],
        [
            "Z2029002",
            ids["people"][121],
            "",
            "Nieuwegein",
            "Crisisopvang",
            "11-06-2024",
            "",
            "",
            "",
            "Lopend",
        ],
        [
            "Z2029003",
            ids["people"][122],
            "",
            "Utrecht",
            "Nachtopvang",
            "31-02-2024",
            "15-03-2024",
            "Volgens plan",
            "",
            "Afgesloten",
        ],
        [
            "Z2029004",
            _invalid(ids["people"][123]),
            "",
            "Zeist",
            "Noodopvang",
            "02-09-2024",
            "20-09-2024",
            "Door cliënt beëindigd",
            "01-09-2024",
            "Afgesloten",
        ],
        [
            "Z2029005",
            ids["zero_bsn"][0].lstrip("0"),
            "",
            "Houten",
            "24-uursopvang",
            "12-01-2024",
            "30-04-2024",
            "Volgens plan",
            "",
            "Afgesloten",
        ],
    ]
    rows.extend(planted)
    return rows, shared_stays


def _invalid(valid: str) -> str:
    return valid[:8] + str((int(valid[8]) + 1) % 10)


def write_csv(rows: list[list[str]]) -> None:
    text = "".join(";".join(row) + "\r\n" for row in rows)
    (HERE / "gemeente_zaken.csv").write_bytes(text.encode("cp1252"))


def bed_list(rng: random.Random, ids: dict) -> list[tuple]:
    """(date, location, client number, BSN or None, gemeentecode) per person per night."""
    locations = ["De Haven", "Nachtopvang Oost", "Sleep-in Centrum"]
    nights: list[tuple] = []
    guests = [*ids["people"][60:100], ids["zero_bsn"][1], None, None]
    for n, bsn in enumerate(guests):
        client = f"N{1000 + n}"
        when = day(rng, dt.date(2023, 10, 1), dt.date(2025, 3, 15))
        for _run in range(rng.choice((1, 2))):
            where = rng.choice(locations)
            for _ in range(rng.randrange(2, 9)):
                nights.append((when, where, client, bsn, "0344"))
                when += dt.timedelta(days=rng.choice((1, 1, 1, 2)))
            when += dt.timedelta(days=rng.randrange(10, 60))
    nights.sort(key=lambda r: (r[0], r[1], r[2]))
    return nights


def write_xlsx(nights: list[tuple], ids: dict) -> None:
    import xlsxwriter

    path = HERE / "nachtregistratie.xlsx"
    book = xlsxwriter.Workbook(str(path), {"default_date_format": "dd-mm-yyyy"})
    book.set_properties({"created": dt.datetime(2025, 4, 24)})  # reproducible bytes
    sheet = book.add_worksheet("Bezetting")
    sheet.write_row(0, 0, ["Datum", "Locatie", "Clientnummer", "BSN", "Gemeentecode"])
    for i, (date, where, client, bsn, code) in enumerate(nights, start=1):
        if i % 50 == 0:
            sheet.write_string(i, 0, nl(date))  # typed in by hand: text, not a date cell
        else:
            sheet.write_datetime(i, 0, dt.datetime.combine(date, dt.time()))
        sheet.write_string(i, 1, where)
        sheet.write_string(i, 2, client)
        if bsn is None:
            sheet.write_blank(i, 3, None)
        else:
            sheet.write_number(i, 3, int(bsn))  # Excel keeps numbers: a leading 0 is lost
        if i == 7:
            sheet.write_number(i, 4, 356)  # Nieuwegein, leading zero lost
        else:
            sheet.write_string(i, 4, code)
    sheet2 = book.add_worksheet("Toelichting")
    sheet2.write_string(0, 0, "Een rij per persoon per nacht. Synthetische gegevens.")
    book.close()


def write_sqlite(rng: random.Random, ids: dict, shared_stays: list[tuple]) -> None:
    path = HERE / "mo_clienten.sqlite"
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.executescript(SQLITE_SCHEMA)
    clients: list[tuple] = []
    stays: list[tuple] = []
    for bsn in ids["people"][100:160] + ids["shared"]:
        clients.append((f"MO{len(clients) + 1:05d}", bsn, None))
    for v in ids["v_nummers"][6:]:
        clients.append((f"MO{len(clients) + 1:05d}", None, v))
    for _ in range(5):
        clients.append((f"MO{len(clients) + 1:05d}", None, None))  # only a client id
    by_bsn = {c[1]: c[0] for c in clients if c[1]}
    iso = lambda d: d.isoformat() if d else None  # noqa: E731
    for bsn, start, end, gemeente in shared_stays:  # the same stay as in the case system
        stays.append(
            (
                by_bsn[bsn],
                GEMEENTEN[gemeente],
                "24-uurs opvang",
                iso(start),
                iso(end),
                1 if end else None,
                None,
            )
        )
    for client, _bsn, _v in clients:
        for _ in range(rng.choice((1, 1, 2))):
            start, end = episode(rng)
            stays.append(
                (
                    client,
                    rng.choice(["0344", "0344", "0355"]),
                    rng.choice(MO_TYPES),
                    iso(start),
                    iso(end),
                    rng.choice((1, 2, 3, 4, 9)) if end else None,
                    iso(start - dt.timedelta(days=rng.randrange(0, 20))),
                )
            )
    stays.append((clients[3][0], "0344", "Housing First", "2023-02-01", None, None, None))
    db.executemany("INSERT INTO clienten VALUES (?, ?, ?)", clients)
    db.executemany(
        "INSERT INTO verblijven (client_id, gemeentecode, soort_opvang, begin_datum, eind_datum,"
        " reden_einde, aanmelddatum) VALUES (?, ?, ?, ?, ?, ?, ?)",
        stays,
    )
    db.commit()
    db.execute("VACUUM")
    db.close()


SQLITE_SCHEMA = """
CREATE TABLE clienten (
    client_id TEXT PRIMARY KEY,
    bsn TEXT,
    v_nummer TEXT
);
CREATE TABLE verblijven (
    verblijf_id INTEGER PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clienten(client_id),
    gemeentecode TEXT NOT NULL,
    soort_opvang TEXT NOT NULL,
    begin_datum TEXT NOT NULL,
    eind_datum TEXT,
    reden_einde INTEGER,
    aanmelddatum TEXT
);
"""


def main() -> None:
    rng = random.Random(SEED)
    ids = make(rng)
    rows, shared_stays = case_system(rng, ids)
    write_csv(rows)
    write_xlsx(bed_list(rng, ids), ids)
    write_sqlite(rng, ids, shared_stays)
    print(f"wrote {len(rows) - 1} case rows, bed list and MO database to {HERE}")


if __name__ == "__main__":
    main()
