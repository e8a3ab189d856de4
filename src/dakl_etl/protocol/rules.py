"""The rule catalog: every rule of RULES.md by its id, with severity, title and the fix.

The validator, the writer, the run, the report and the docs all take rule text from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Severity = Literal["error", "warning"]
Level = Literal["file", "row"]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity  # the usual severity; some rules have a milder case (see RULES.md)
    level: Level
    title: str
    hint: str  # one sentence: what to do about it
    field: str | None = None  # key of the field it judges (protocol.fields), row rules only


_RULES = (
    Rule("F01", "error", "file", "File name is DAKL_J{YYYY}[_free text].csv/.txt",
         "Rename the file to DAKL_J<year>_<free text>.csv, e.g. DAKL_J2024_gemeenteX.csv."),
    Rule("F02", "error", "file", "File name has no forbidden characters and only one '.'",
         "Remove : \\ / ? ; * \" > < | ] [ and any '.' other than the one before the extension."),
    Rule("F03", "error", "file", "Encoding is UTF-8 (a BOM is only a warning)",
         "Save the file as UTF-8 (in Excel: 'CSV UTF-8'; better: let dakl-etl write it)."),
    Rule("F04", "error", "file", "First line is one header row of 9 field names",
         "Make line 1 the header: Aanmaakdatum bestand;Gemeentecode;BSN;…;V-nummer."),
    Rule("F05", "error", "file", "Every line has exactly 9 fields (8 semicolons)",
         "Use ';' as separator and give every line 9 fields; no ';' after the last field."),
    Rule("F06", "warning", "file", "Every line ends with one kind of line break",
         "Save the file with one kind of line ending and a line break after the last row."),
    Rule("F07", "error", "file", "No empty lines, and at least one data row",
         "Delete the empty lines (also at the end of the file); a delivery needs data rows."),
    Rule("F08", "error", "file", "Aanmaakdatum bestand is the same on every row",
         "Fill in one creation moment (YYYYMMDDHHMM) on every row of the file."),
    Rule("F09", "warning", "file", "No exact duplicate rows with a real BSN",
         "De-duplicate the delivery: each stay of a person appears once."),
    Rule("R01", "error", "row", "Aanmaakdatum is 12 digits forming a real date-time",
         "Write the creation moment as YYYYMMDDHHMM, e.g. 202504241530.", "aanmaakdatum"),
    Rule("R02", "error", "row", "Aanmaakdatum is in scientific notation (Excel damage)",
         "Format the column as text in Excel before saving, or write the file with dakl-etl.",
         "aanmaakdatum"),
    Rule("R03", "error", "row", "Gemeentecode is exactly 4 digits",
         "Write the CBS municipality code with 4 digits and leading zeros, e.g. 0363.",
         "gemeentecode"),
    Rule("R04", "error", "row", "Gemeentecode existed during the reporting year",
         "Use a CBS municipality code valid in the reporting year (see the reference list).",
         "gemeentecode"),
    Rule("R05", "error", "row", "BSN is exactly 9 digits",
         "Write the BSN with 9 digits and its leading zero; use 999999999 when unknown.", "bsn"),
    Rule("R06", "error", "row", "BSN passes the elfproef",
         "Correct the BSN in the source system, or deliver 999999999 (unknown) with a V-nummer.",
         "bsn"),
    Rule("R07", "warning", "row", "BSN unknown (999999999) without a V-nummer",
         "Add the V-nummer where it is known.", "bsn"),
    Rule("R08", "warning", "row", "Datum melding, when present, is a real date YYYYMMDD",
         "Write Datum melding as YYYYMMDD or leave it empty (the field is facultative).",
         "datum_melding"),
    Rule("R09", "warning", "row", "Datum melding is not after Startdatum",
         "Check Datum melding: the first report usually comes before the start of shelter.",
         "datum_melding"),
    Rule("R10", "error", "row", "Type ingezette opvang is a protocol code",
         "Use one of 0201 0203 0204 0205 0301 0302 0303 0304 0305 (there is no 0202).",
         "type_opvang"),
    Rule("R11", "error", "row", "Startdatum is a real date YYYYMMDD",
         "Write Startdatum as YYYYMMDD, e.g. 20240102.", "startdatum"),
    Rule("R12", "error", "row", "Startdatum is not after the reporting year",
         "Leave stays that start after 31 December out of this year's file.", "startdatum"),
    Rule("R13", "error", "row", "Einddatum, when present, is a real date YYYYMMDD",
         "Write Einddatum as YYYYMMDD, or leave it empty when the end date is unknown.",
         "einddatum"),
    Rule("R14", "error", "row", "Einddatum is not before Startdatum",
         "Correct the start or end date in the source system.", "einddatum"),
    Rule("R15", "error", "row", "Einddatum is not before the reporting year",
         "Leave stays that ended before 1 January out of this year's file.", "einddatum"),
    Rule("R16", "error", "row", "Reden beëindiging is a protocol code",
         "Use one of 02 19 21 22 23 99, or leave the field empty.", "reden"),
    Rule("R17", "error", "row", "Reden beëindiging only together with an Einddatum",
         "Leave Reden beëindiging empty for open stays, or fill in the Einddatum.", "reden"),
    Rule("R18", "error", "row", "V-nummer, when present, is exactly 10 digits",
         "Write the V-nummer with 10 digits and leading zeros, or leave it empty.", "v_nummer"),
    Rule("R19", "error", "row", "A required field is empty",
         "Fill in Aanmaakdatum, Gemeentecode, BSN (999999999 if unknown), Type and Startdatum."),
    Rule("R20", "error", "row", "A value has spaces, quotes or other non-digit characters",
         "Remove spaces, quotes, decimal points and letters: values are digits only."),
)

RULES: MappingProxyType[str, Rule] = MappingProxyType({r.id: r for r in _RULES})


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]
