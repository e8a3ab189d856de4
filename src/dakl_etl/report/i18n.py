"""The report's words in Dutch (default: the coordinator's and the protocol's language) and English.

Protocol terms (TypeOpvang, Gemeentecode, BSN, V-nummer, ETHOS-Light) stay Dutch in both.
Signal texts are `str.format` templates over `Signal.measured` and `Signal.limits`, each
already formatted as text: a count as in the tables ("< 5", "x"), a share of a hidden count as
`share_hidden`.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal

from dakl_etl.protocol.codes import ETHOS_CATEGORY, REDEN_BEEINDIGING, TYPE_OPVANG
from dakl_etl.protocol.rules import RULES

Lang = Literal["nl", "en"]
LANGS: tuple[Lang, ...] = ("nl", "en")

_NL = {
    "title": "Leveringsrapport Monitor Dakloosheid",
    "subtitle": "Wat CBS zal zien, vóór het aanleveren",
    "file": "Bestand",
    "year": "Verslagjaar",
    "created": "Aanmaakdatum bestand",
    "previous_unreadable": "niet te lezen: zonder vergelijking",
    "year_guessed": "(afgeleid uit de startdata: de bestandsnaam noemt geen jaar)",
    "previous": "Vergeleken met",
    "generated": "Gemaakt met dakl-etl",
    "verdict": "Oordeel",
    "verdict_ok": "Klaar om aan te leveren",
    "verdict_ok_warnings": "Klaar om aan te leveren, met {warnings} waarschuwing(en)",
    "verdict_rejected": "Wordt afgekeurd: {errors} fout(en) in {rows} regel(s) ({rules})",
    "verdict_rejected_file": "Wordt afgekeurd: {errors} fout(en) ({rules})",
    "findings": "Bevindingen per regel",
    "no_findings": "Geen bevindingen: het bestand voldoet aan alle regels van het protocol.",
    "rule": "Regel",
    "severity": "Ernst",
    "error": "fout",
    "warning": "waarschuwing",
    "description": "Omschrijving",
    "count": "Aantal",
    "lines": "Eerste regels",
    "more": "en {n} meer",
    "todo": "Wat te doen",
    "key_figures": "Kerncijfers",
    "figure": "Kengetal",
    "now": "Deze levering",
    "before": "Vorige levering",
    "before_short": "vorige",
    "change": "Verschil",
    "change_pct": "Verschil %",
    "rows": "Regels",
    "persons": "Personen",
    "k_rows": "Regels (opvangtrajecten)",
    "k_persons_bsn": "Unieke personen met BSN",
    "k_rows_unknown_bsn": "Regels met onbekend BSN (999999999)",
    "k_persons_unknown_bsn": "Personen met onbekend BSN (uniek V-nummer, of per regel)",
    "k_rows_invalid_bsn": "Regels met ongeldig BSN",
    "k_rows_with_v_nummer": "Regels met V-nummer",
    "k_rows_without_v_nummer": "Regels zonder V-nummer",
    "k_open_at_year_end": "Trajecten nog lopend op 31 december",
    "k_end_unknown": "Trajecten beëindigd op onbekende datum",
    "k_gemeenten": "Gemeenten",
    "per_type": "Per type ingezette opvang",
    "type": "Type",
    "total": "Totaal",
    "type_note": (
        "Een persoon telt één keer per regel van de tabel: wie twee typen binnen één categorie "
        "had, telt één keer voor de categorie. Personen = unieke geldige BSN's."
    ),
    "per_gemeente": "Per gemeente",
    "gemeente": "Gemeente",
    "gemeentecode": "Gemeentecode",
    "unknown_gemeente": "onbekende code",
    "per_month": "Instroom en uitstroom per maand",
    "period": "Periode",
    "starts": "Starts",
    "ends": "Beëindigingen",
    "p_before": "vóór {year}",
    "p_after": "na {year}",
    "p_open": "loopt nog (31-12)",
    "p_unknown": "einddatum onbekend",
    "p_invalid": "ongeldige datum",
    "lengths": "Duur van de opvangtrajecten",
    "bucket": "Duur (dagen)",
    "lengths_note": (
        "Duur van start tot einde; trajecten die na 31 december doorlopen tot 31 december. "
        "Mediaan: {medians}."
    ),
    "days": "dagen",
    "waiting": "Wachttijd van melding tot start",
    "waiting_bucket": "Dagen van melding tot start",
    "w_<0": "melding ná start",
    "w_none": "geen datum melding",
    "w_invalid": "ongeldige datum",
    "waiting_note": "Mediaan {median} dagen (regels met een datum melding).",
    "reden": "Reden beëindiging",
    "reden_code": "Code",
    "r_none": "beëindigd, geen reden opgegeven",
    "r_open": "loopt nog (geen reden)",
    "r_??": "ongeldige code",
    "signals": "Plausibiliteit",
    "signals_intro": (
        "Controles waarmee CBS onwaarschijnlijke leveringen opspoort. Een signaal houdt de "
        "levering niet tegen, maar vraagt om een verklaring of correctie."
    ),
    "signal": "Signaal",
    "signals_none": "Plausibiliteit: geen signalen",
    "signals_some": "Plausibiliteit: {n} signaal/signalen om naar te kijken ({ids})",
    "status": "Status",
    "fired": "let op",
    "quiet": "in orde",
    "not_judged": "niet beoordeeld (vorige levering nodig)",
    "none": "geen",
    "small": "< {n}",
    "masked": "x",
    "masked_chart": "x: verborgen",
    "small_note": (
        "Aantallen van 1 tot en met {m} worden getoond als \u201c< {n}\u201d, zodat dit rapport "
        "doorgestuurd kan worden. Een \u201cx\u201d verbergt een groter aantal dat samen met "
        "het totaal zo'n klein aantal zou verraden."
    ),
    "charts_alt_month": "Grafiek: starts en beëindigingen per maand",
    "charts_alt_length": "Grafiek: duur van de trajecten per categorie",
    "charts_alt_waiting": "Grafiek: wachttijd van melding tot start",
    "charts_alt_type": "Grafiek: personen per type opvang",
    "no_persons": "geen",
    "ethos_other": "Ongeldige type-code",
    "P01": "Veel minder personen met BSN dan in de vorige levering",
    "P01_detail": "{persons} tegen {previous} ({change}; grens −{max_person_drop})",
    "P02": "Weinig personen voor het aantal regels",
    "P02_detail": (
        "{rows} regels, {persons} personen met BSN, {rows_per_person} "
        "(grens {max_rows_per_person} per persoon)"
    ),
    "P03": "Hoog aandeel onbekend BSN",
    "P03_detail": (
        "{rows_unknown_bsn} regels met BSN 999999999, {share} (grens {max_unknown_bsn_share})"
    ),
    "P04": "Type opvang vorig jaar gebruikt, nu afwezig",
    "P04_detail": "afwezig: {types} (gebruikt = minstens {min_type_rows} regels)",
    "P05": "Grote daling of stijging per type opvang",
    "P05_detail": "{types} (grens ± {max_type_change} en ± {min_type_change_rows} regels)",
    "P06": "Datum melding na de startdatum",
    "P06_detail": (
        "{rows} van de {rows_with_melding} regels met een datum melding, {share} "
        "(grens {max_melding_after_start_share})"
    ),
    "P07": "Trajecten langer dan een jaar",
    "P07_detail": "{episodes} trajecten, {share} (grens {max_long_share})",
    "P08": "Nacht-, nood- of winteropvang langer dan een jaar",
    "P08_detail": "{episodes} ETHOS-Light 2 trajecten, {share} (grens {max_long_share_ethos2})",
    "share": "aandeel {share}",
    "share_hidden": "aandeel niet getoond: klein aantal",
    "change_hidden": "verschil niet getoond: klein aantal",
    "per_person": "{n} per persoon",
    "per_person_hidden": "regels per persoon niet getoond: klein aantal",
    "unreadable": (
        "De regels van dit bestand zijn niet te lezen (zie de bevindingen F03/F04/F05): de "
        "cijfers hieronder zijn leeg tot het bestand hersteld is."
    ),
    "summary_title": "Leveringsrapport",
    "summary_report": "Rapport",
}

_EN = {
    "title": "Delivery report Monitor Dakloosheid",
    "subtitle": "What CBS will see, before the upload",
    "file": "File",
    "year": "Reporting year",
    "created": "Aanmaakdatum bestand (created)",
    "previous_unreadable": "cannot be read: no comparison",
    "year_guessed": "(taken from the start dates: the file name gives no year)",
    "previous": "Compared with",
    "generated": "Made with dakl-etl",
    "verdict": "Verdict",
    "verdict_ok": "Ready to deliver",
    "verdict_ok_warnings": "Ready to deliver, with {warnings} warning(s)",
    "verdict_rejected": "Will be rejected: {errors} error(s) on {rows} line(s) ({rules})",
    "verdict_rejected_file": "Will be rejected: {errors} error(s) ({rules})",
    "findings": "Findings per rule",
    "no_findings": "No findings: the file meets every rule of the protocol.",
    "rule": "Rule",
    "severity": "Severity",
    "error": "error",
    "warning": "warning",
    "description": "Description",
    "count": "Count",
    "lines": "First lines",
    "more": "and {n} more",
    "todo": "What to do",
    "key_figures": "Key figures",
    "figure": "Figure",
    "now": "This delivery",
    "before": "Previous delivery",
    "before_short": "previous",
    "change": "Change",
    "change_pct": "Change %",
    "rows": "Rows",
    "persons": "Persons",
    "k_rows": "Rows (shelter episodes)",
    "k_persons_bsn": "Unique persons with a BSN",
    "k_rows_unknown_bsn": "Rows with unknown BSN (999999999)",
    "k_persons_unknown_bsn": "Persons with unknown BSN (unique V-nummer, or per row)",
    "k_rows_invalid_bsn": "Rows with an invalid BSN",
    "k_rows_with_v_nummer": "Rows with a V-nummer",
    "k_rows_without_v_nummer": "Rows without a V-nummer",
    "k_open_at_year_end": "Episodes still running on 31 December",
    "k_end_unknown": "Episodes ended on an unknown date",
    "k_gemeenten": "Municipalities",
    "per_type": "Per type of shelter (TypeOpvang)",
    "type": "Type",
    "total": "Total",
    "type_note": (
        "A person counts once per table row: someone with two types in one category counts "
        "once for the category. Persons = unique valid BSNs."
    ),
    "per_gemeente": "Per municipality (gemeente)",
    "gemeente": "Gemeente",
    "gemeentecode": "Gemeentecode",
    "unknown_gemeente": "unknown code",
    "per_month": "Starts and ends per month",
    "period": "Period",
    "starts": "Starts",
    "ends": "Ends",
    "p_before": "before {year}",
    "p_after": "after {year}",
    "p_open": "still running (31-12)",
    "p_unknown": "end date unknown",
    "p_invalid": "invalid date",
    "lengths": "Length of the shelter episodes",
    "bucket": "Length (days)",
    "lengths_note": (
        "Length from start to end; episodes running past 31 December are measured up to "
        "31 December. Median: {medians}."
    ),
    "days": "days",
    "waiting": "Waiting time from melding to start",
    "waiting_bucket": "Days from melding to start",
    "w_<0": "melding after start",
    "w_none": "no Datum melding",
    "w_invalid": "invalid date",
    "waiting_note": "Median {median} days (rows with a Datum melding).",
    "reden": "Reden beëindiging (reason for ending)",
    "reden_code": "Code",
    "r_none": "ended, no reason given",
    "r_open": "still running (no reason)",
    "r_??": "invalid code",
    "signals": "Plausibility",
    "signals_intro": (
        "Checks CBS uses to spot implausible deliveries. A signal does not block the delivery "
        "but asks for an explanation or a correction."
    ),
    "signal": "Signal",
    "signals_none": "Plausibility: no signals",
    "signals_some": "Plausibility: {n} signal(s) to look at ({ids})",
    "status": "Status",
    "fired": "look",
    "quiet": "fine",
    "not_judged": "not judged (needs a previous delivery)",
    "none": "none",
    "small": "< {n}",
    "masked": "x",
    "masked_chart": "x: hidden",
    "small_note": (
        "Counts from 1 to {m} are shown as \u201c< {n}\u201d so that this report can be forwarded. "
        "An \u201cx\u201d hides a larger count that, together with the total, would give such a "
        "small count away."
    ),
    "charts_alt_month": "Chart: starts and ends per month",
    "charts_alt_length": "Chart: length of the episodes per category",
    "charts_alt_waiting": "Chart: waiting time from melding to start",
    "charts_alt_type": "Chart: persons per type of shelter",
    "no_persons": "none",
    "ethos_other": "Invalid type code",
    "P01": "Far fewer persons with a BSN than in the previous delivery",
    "P01_detail": "{persons} against {previous} ({change}; limit −{max_person_drop})",
    "P02": "Few persons for the number of rows",
    "P02_detail": (
        "{rows} rows, {persons} persons with a BSN, {rows_per_person} "
        "(limit {max_rows_per_person} per person)"
    ),
    "P03": "High share of unknown BSN",
    "P03_detail": (
        "{rows_unknown_bsn} rows with BSN 999999999, {share} (limit {max_unknown_bsn_share})"
    ),
    "P04": "Type of shelter used last time, absent now",
    "P04_detail": "absent: {types} (used = at least {min_type_rows} rows)",
    "P05": "Large drop or jump per type of shelter",
    "P05_detail": "{types} (limit ± {max_type_change} and ± {min_type_change_rows} rows)",
    "P06": "Datum melding after the start date",
    "P06_detail": (
        "{rows} of the {rows_with_melding} rows with a Datum melding, {share} "
        "(limit {max_melding_after_start_share})"
    ),
    "P07": "Episodes longer than a year",
    "P07_detail": "{episodes} episodes, {share} (limit {max_long_share})",
    "P08": "Night, emergency or winter shelter longer than a year",
    "P08_detail": "{episodes} ETHOS-Light 2 episodes, {share} (limit {max_long_share_ethos2})",
    "share": "share {share}",
    "share_hidden": "share not shown: small count",
    "change_hidden": "change not shown: small count",
    "per_person": "{n} per person",
    "per_person_hidden": "rows per person not shown: small count",
    "unreadable": (
        "The rows of this file cannot be read (see findings F03/F04/F05): the figures below "
        "stay empty until the file is repaired."
    ),
    "summary_title": "Delivery report",
    "summary_report": "Report",
}

#: Dutch rule titles and hints for the findings table; the texts live in the rule catalog.
RULE_TITLES_NL = MappingProxyType({r.id: r.title_nl for r in RULES.values() if r.title_nl})
RULE_HINTS_NL = MappingProxyType({r.id: r.hint_nl for r in RULES.values() if r.hint_nl})

#: English glosses of the protocol's code labels (the labels themselves are Dutch).
_TYPE_EN = {
    "0201": "Night shelter",
    "0203": "Emergency shelter",
    "0204": "Winter shelter",
    "0205": "Other/unknown within ETHOS-Light category 2",
    "0301": "24-hour shelter",
    "0302": "Transitional housing",
    "0303": "Alternative temporary shelter",
    "0304": "Other/unknown within ETHOS-Light category 3",
    "0305": "Flip housing (omklapwoningen)",
}
_ETHOS_EN = {
    "02": "ETHOS-Light 2: emergency accommodation",
    "03": "ETHOS-Light 3: temporary accommodation",
}
_REDEN_EN = {
    "02": "Death",
    "19": "Ended according to plan",
    "21": "Ended unilaterally by the client",
    "22": "Ended unilaterally by the provider",
    "23": "Ended early by mutual agreement",
    "99": "Unknown/other",
}

TEXTS: MappingProxyType[str, MappingProxyType[str, str]] = MappingProxyType(
    {
        "nl": MappingProxyType(_NL),
        "en": MappingProxyType(_EN),
    }
)


def texts(lang: Lang) -> MappingProxyType[str, str]:
    return TEXTS[lang]


def type_label(code: str, lang: Lang) -> str:
    return (_TYPE_EN if lang == "en" else TYPE_OPVANG).get(code, TEXTS[lang]["ethos_other"])


def ethos_label(code: str, lang: Lang) -> str:
    return (_ETHOS_EN if lang == "en" else ETHOS_CATEGORY).get(code, TEXTS[lang]["ethos_other"])


def reden_label(code: str, lang: Lang) -> str:
    labels = _REDEN_EN if lang == "en" else REDEN_BEEINDIGING
    return labels.get(code) or TEXTS[lang].get(f"r_{code}", code)


def rule_title(code: str, lang: Lang, english_title: str) -> str:
    return RULE_TITLES_NL.get(code, english_title) if lang == "nl" else english_title


def rule_hint(code: str, lang: Lang, english_hint: str) -> str:
    return RULE_HINTS_NL.get(code, english_hint) if lang == "nl" else english_hint
