"""The rule catalog: every rule of RULES.md by its id, with severity, title and the fix.

The validator, the writer, the run, the report and the docs all take rule text from here, in
English and in Dutch (the report's default language); code lists in the hints come from
`protocol.codes`, so a hint cannot name a code the validator refuses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from dakl_etl.protocol.codes import REDEN_BEEINDIGING, TYPE_OPVANG
from dakl_etl.protocol.fields import FILE_NAME_FORBIDDEN

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
    title_nl: str = ""  # the report's Dutch title and hint
    hint_nl: str = ""


def _or(codes: Iterable[str]) -> str:
    """`02 19 … 23 of 99`: a Dutch enumeration of codes."""
    *most, last = codes
    return f"{' '.join(most)} of {last}"


# fmt: off
_RULES = (
    Rule("F01", "error", "file", "File name is DAKL_J{YYYY}[_free text].csv/.txt",
         "Rename the file to DAKL_J<year>_<free text>.csv, e.g. DAKL_J2024_gemeenteX.csv.",
         title_nl="Bestandsnaam is DAKL_J{JJJJ}[_vrije tekst].csv/.txt",
         hint_nl="Noem het bestand DAKL_J<jaar>_<vrije tekst>.csv, "
                 "bijv. DAKL_J2024_gemeenteX.csv."),
    Rule("F02", "error", "file", "File name has no forbidden characters and only one '.'",
         f"Remove {' '.join(FILE_NAME_FORBIDDEN)} and any '.' other than the one before "
         "the extension.",
         title_nl="Bestandsnaam zonder verboden tekens en met één '.'",
         hint_nl=f"Verwijder {' '.join(FILE_NAME_FORBIDDEN)} en elke '.' behalve die vóór "
                 "de extensie."),
    Rule("F03", "error", "file", "Encoding is UTF-8 (a BOM is only a warning)",
         "Save the file as UTF-8 (in Excel: 'CSV UTF-8'; better: let dakl-etl write it).",
         title_nl="Codering is UTF-8 (een BOM is alleen een waarschuwing)",
         hint_nl="Sla op als UTF-8 (Excel: 'CSV UTF-8'; beter: laat dakl-etl het schrijven)."),
    Rule("F04", "error", "file", "First line is one header row of 9 field names",
         "Make line 1 the header: Aanmaakdatum bestand;Gemeentecode;BSN;…;V-nummer.",
         title_nl="Eerste regel is één kopregel met 9 veldnamen",
         hint_nl="Maak regel 1 de kopregel: Aanmaakdatum bestand;Gemeentecode;BSN;…;V-nummer."),
    Rule("F05", "error", "file", "Every line has exactly 9 fields (8 semicolons)",
         "Use ';' as separator and give every line 9 fields; no ';' after the last field.",
         title_nl="Elke regel heeft precies 9 velden (8 puntkomma's)",
         hint_nl="Scheid met ';' en geef elke regel 9 velden; geen ';' na het laatste veld."),
    Rule("F06", "warning", "file", "Every line ends with one kind of line break",
         "Save the file with one kind of line ending and a line break after the last row.",
         title_nl="Elke regel eindigt op dezelfde soort regeleinde",
         hint_nl="Sla het bestand op met één soort regeleinde en een regeleinde na de laatste "
                 "regel."),
    Rule("F07", "error", "file", "No empty lines, and at least one data row",
         "Delete the empty lines (also at the end of the file); a delivery needs data rows.",
         title_nl="Geen lege regels, en minstens één dataregel",
         hint_nl="Verwijder de lege regels (ook aan het eind); een levering heeft dataregels "
                 "nodig."),
    Rule("F08", "error", "file", "Aanmaakdatum bestand is the same on every row",
         "Fill in one creation moment (YYYYMMDDHHMM) on every row of the file.",
         title_nl="Aanmaakdatum bestand is op elke regel gelijk",
         hint_nl="Vul op elke regel hetzelfde aanmaakmoment in (JJJJMMDDUUMM)."),
    Rule("F09", "warning", "file", "No exact duplicate rows with a real BSN",
         "De-duplicate the delivery: each stay of a person appears once.",
         title_nl="Geen identieke dubbele regels met een echt BSN",
         hint_nl="Ontdubbel de levering: elk verblijf van een persoon komt één keer voor."),
    Rule("R01", "error", "row", "Aanmaakdatum is 12 digits forming a real date-time",
         "Write the creation moment as YYYYMMDDHHMM, e.g. 202504241530.", "aanmaakdatum",
         title_nl="Aanmaakdatum is 12 cijfers en een echte datum-tijd",
         hint_nl="Schrijf het aanmaakmoment als JJJJMMDDUUMM, bijv. 202504241530."),
    Rule("R02", "error", "row", "Aanmaakdatum is in scientific notation (Excel damage)",
         "Format the column as text in Excel before saving, or write the file with dakl-etl.",
         "aanmaakdatum",
         title_nl="Aanmaakdatum in wetenschappelijke notatie (Excel)",
         hint_nl="Maak de kolom in Excel eerst tekst vóór het opslaan, of laat dakl-etl het "
                 "bestand schrijven."),
    Rule("R03", "error", "row", "Gemeentecode is exactly 4 digits",
         "Write the CBS municipality code with 4 digits and leading zeros, e.g. 0363.",
         "gemeentecode",
         title_nl="Gemeentecode is precies 4 cijfers",
         hint_nl="Schrijf de CBS-gemeentecode met 4 cijfers en voorloopnullen, bijv. 0363."),
    Rule("R04", "error", "row", "Gemeentecode existed during the reporting year",
         "Use a CBS municipality code valid in the reporting year (see the reference list).",
         "gemeentecode",
         title_nl="Gemeentecode bestond in het verslagjaar",
         hint_nl="Gebruik een gemeentecode die in het verslagjaar geldig was (referentielijst)."),
    Rule("R05", "error", "row", "BSN is exactly 9 digits",
         "Write the BSN with 9 digits and its leading zero; use 999999999 when unknown.", "bsn",
         title_nl="BSN is precies 9 cijfers",
         hint_nl="Schrijf het BSN met 9 cijfers en voorloopnul; 999999999 als het onbekend is."),
    Rule("R06", "error", "row", "BSN passes the elfproef",
         "Correct the BSN in the source system, or deliver 999999999 (unknown) with a V-nummer.",
         "bsn",
         title_nl="BSN voldoet aan de elfproef",
         hint_nl="Verbeter het BSN in de bron, of lever 999999999 (onbekend) met een V-nummer."),
    Rule("R07", "warning", "row", "BSN unknown (999999999) without a V-nummer",
         "Add the V-nummer where it is known.", "bsn",
         title_nl="BSN onbekend (999999999) zonder V-nummer",
         hint_nl="Vul het V-nummer in waar het bekend is."),
    Rule("R08", "warning", "row", "Datum melding, when present, is a real date YYYYMMDD",
         "Write Datum melding as YYYYMMDD or leave it empty (the field is facultative).",
         "datum_melding",
         title_nl="Datum melding is, indien gevuld, een echte datum JJJJMMDD",
         hint_nl="Schrijf Datum melding als JJJJMMDD of laat het leeg (het veld is facultatief)."),
    Rule("R09", "warning", "row", "Datum melding is not after Startdatum",
         "Check Datum melding: the first report usually comes before the start of shelter.",
         "datum_melding",
         title_nl="Datum melding ligt niet na de startdatum",
         hint_nl="Controleer Datum melding: de melding komt meestal vóór de start van de opvang."),
    Rule("R10", "error", "row", "Type ingezette opvang is a protocol code",
         f"Use one of {' '.join(TYPE_OPVANG)} (there is no 0202).", "type_opvang",
         title_nl="Type ingezette opvang is een code uit het protocol",
         hint_nl=f"Gebruik {_or(TYPE_OPVANG)} (0202 bestaat niet)."),
    Rule("R11", "error", "row", "Startdatum is a real date YYYYMMDD",
         "Write Startdatum as YYYYMMDD, e.g. 20240102.", "startdatum",
         title_nl="Startdatum is een echte datum JJJJMMDD",
         hint_nl="Schrijf de startdatum als JJJJMMDD, bijv. 20240102."),
    Rule("R12", "error", "row", "Startdatum is not after the reporting year",
         "Leave stays that start after 31 December out of this year's file.", "startdatum",
         title_nl="Startdatum ligt niet na het verslagjaar",
         hint_nl="Laat verblijven die na 31 december beginnen weg uit het bestand van dit jaar."),
    Rule("R13", "error", "row", "Einddatum, when present, is a real date YYYYMMDD",
         "Write Einddatum as YYYYMMDD, or leave it empty when the end date is unknown.",
         "einddatum",
         title_nl="Einddatum is, indien gevuld, een echte datum JJJJMMDD",
         hint_nl="Schrijf de einddatum als JJJJMMDD, of laat hem leeg als de einddatum onbekend "
                 "is."),
    Rule("R14", "error", "row", "Einddatum is not before Startdatum",
         "Correct the start or end date in the source system.", "einddatum",
         title_nl="Einddatum ligt niet vóór de startdatum",
         hint_nl="Verbeter de start- of einddatum in het bronsysteem."),
    Rule("R15", "error", "row", "Einddatum is not before the reporting year",
         "Leave stays that ended before 1 January out of this year's file.", "einddatum",
         title_nl="Einddatum ligt niet vóór het begin van het verslagjaar",
         hint_nl="Laat verblijven die vóór 1 januari eindigden weg uit het bestand van dit jaar."),
    Rule("R16", "error", "row", "Reden beëindiging is a protocol code",
         f"Use one of {' '.join(REDEN_BEEINDIGING)}, or leave the field empty.", "reden",
         title_nl="Reden beëindiging is een code uit het protocol",
         hint_nl=f"Gebruik {_or(REDEN_BEEINDIGING)}, of laat het veld leeg."),
    Rule("R17", "error", "row", "Reden beëindiging only together with an Einddatum",
         "Leave Reden beëindiging empty for open stays, or fill in the Einddatum.", "reden",
         title_nl="Reden beëindiging alleen samen met een einddatum",
         hint_nl="Laat Reden beëindiging leeg bij lopende verblijven, of vul de einddatum in."),
    Rule("R18", "error", "row", "V-nummer, when present, is exactly 10 digits",
         "Write the V-nummer with 10 digits and leading zeros, or leave it empty.", "v_nummer",
         title_nl="V-nummer is, indien gevuld, precies 10 cijfers",
         hint_nl="Schrijf het V-nummer met 10 cijfers en voorloopnullen, of laat het leeg."),
    Rule("R19", "error", "row", "A required field is empty",
         "Fill in Aanmaakdatum, Gemeentecode, BSN (999999999 if unknown), Type and Startdatum.",
         title_nl="Verplicht veld is leeg",
         hint_nl="Vul Aanmaakdatum, Gemeentecode, BSN (onbekend: 999999999), Type en Startdatum "
                 "in."),
    Rule("R20", "error", "row", "A value has spaces, quotes or other non-digit characters",
         "Remove spaces, quotes, decimal points and letters: values are digits only.",
         title_nl="Waarde met spaties, aanhalingstekens of andere tekens dan cijfers",
         hint_nl="Verwijder spaties, aanhalingstekens, decimale punten en letters: "
                 "alleen cijfers."),
)
# fmt: on

RULES: MappingProxyType[str, Rule] = MappingProxyType({r.id: r for r in _RULES})
