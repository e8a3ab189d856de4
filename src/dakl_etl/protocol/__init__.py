"""The DAKL protocol as declarations: fields, code lists, rules, BSN check, findings.

Imports nothing else of dakl_etl; everything else imports it.
"""

from dakl_etl.protocol.bsn import elfproef, is_valid_bsn
from dakl_etl.protocol.codes import REDEN_BEEINDIGING, TYPE_OPVANG, UNKNOWN_BSN
from dakl_etl.protocol.fields import COLUMNS, FIELDS, HEADER, SEPARATOR
from dakl_etl.protocol.findings import Finding, Report
from dakl_etl.protocol.privacy import mask, mask_expr
from dakl_etl.protocol.rules import RULES, Rule

__all__ = [
    "COLUMNS",
    "FIELDS",
    "HEADER",
    "REDEN_BEEINDIGING",
    "RULES",
    "SEPARATOR",
    "TYPE_OPVANG",
    "UNKNOWN_BSN",
    "Finding",
    "Report",
    "Rule",
    "elfproef",
    "is_valid_bsn",
    "mask",
    "mask_expr",
]
