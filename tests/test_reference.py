"""The municipality list: validity per year, a user-supplied replacement, clear errors."""

import pytest

from dakl_etl.reference import ReferenceError, default_reference_path, load_gemeenten

HEADER = "gemeentecode;gemeentenaam;provincie;geldig_vanaf;geldig_tot\n"


def test_shipped_list_has_342_codes_in_2024_and_2025():
    gemeenten = load_gemeenten()
    assert default_reference_path().is_file()
    assert len(gemeenten.codes_in_year(2024)) == 342
    assert len(gemeenten.codes_in_year(2025)) == 342
    assert "0363" in gemeenten.codes_in_year(2024)
    assert gemeenten.name_of("0363") == "Amsterdam"


def test_validity_is_from_inclusive_to_exclusive(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text(
        HEADER
        + "0001;Oud;P;1970-01-01;2024-01-01\n"  # ends the moment 2024 starts: not in 2024
        + "0002;Laat;P;1970-01-01;2024-01-02\n"  # existed on 1 January 2024
        + "0003;Nieuw;P;2024-12-31;\n"  # existed on the last day of 2024
        + "0004;Toekomst;P;2025-01-01;\n",
        encoding="utf-8",
    )
    gemeenten = load_gemeenten(path)
    assert gemeenten.codes_in_year(2023) == {"0001", "0002"}
    assert gemeenten.codes_in_year(2024) == {"0002", "0003"}
    assert gemeenten.codes_in_year(2025) == {"0003", "0004"}
    assert gemeenten.names_in_year(2024) == {"Laat": "0002", "Nieuw": "0003"}


def test_lost_leading_zeros_in_a_user_list_are_restored(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text(HEADER + "363;Amsterdam;NH;1970-01-01;\n", encoding="utf-8")
    assert load_gemeenten(path).codes_in_year(2024) == {"0363"}


def test_missing_and_malformed_lists_give_clear_errors(tmp_path):
    with pytest.raises(ReferenceError, match="not found"):
        load_gemeenten(tmp_path / "absent.csv")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("code;naam\n0363;Amsterdam\n", encoding="utf-8")
    with pytest.raises(ReferenceError, match="lacks column"):
        load_gemeenten(wrong)
    bad_row = tmp_path / "bad.csv"
    bad_row.write_text(HEADER + "0363;A;NH;1970-01-01;\nAB;B;NH;gisteren;\n", encoding="utf-8")
    with pytest.raises(ReferenceError, match=r"bad\.csv:3:"):
        load_gemeenten(bad_row)
