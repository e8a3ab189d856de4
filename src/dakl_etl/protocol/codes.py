"""The protocol's code lists: defined once, used by writer, validator, mappings and report."""

from __future__ import annotations

from types import MappingProxyType

# fmt: off
#: Type ingezette opvang (TypeOpvang): code -> label. There is no 0202.
TYPE_OPVANG = MappingProxyType({
    "0201": "Nachtopvang",
    "0203": "Noodopvang",
    "0204": "Winteropvang",
    "0205": "Anders/onbekend binnen ETHOS-Light categorie 2",
    "0301": "24-uursopvang",
    "0302": "Doorstroomwoningen",
    "0303": "Alternatieve tijdelijke opvang",
    "0304": "Anders/onbekend binnen ETHOS-Light categorie 3",
    "0305": "Omklapwoningen",
})

#: ETHOS-Light categories by the first two digits of TypeOpvang.
ETHOS_CATEGORY = MappingProxyType({
    "02": "ETHOS-Light 2: noodopvang",
    "03": "ETHOS-Light 3: tijdelijke opvang",
})


#: Reden beëindiging: code -> label.
REDEN_BEEINDIGING = MappingProxyType({
    "02": "Overlijden",
    "19": "Opvang volgens plan beëindigd",
    "21": "Opvang is eenzijdig door cliënt beëindigd",
    "22": "Opvang is eenzijdig door aanbieder beëindigd",
    "23": "Opvang is in overeenstemming voortijdig beëindigd",
    "99": "Onbekend/anders",
})
# fmt: on

#: The one allowed BSN value for "BSN unknown" (it fails the elfproef on purpose).
UNKNOWN_BSN = "999999999"
