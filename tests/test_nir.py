"""NIR parsing and key validation.

Every expected key below is recomputed inline from the rule (97 − number mod 97, 2A→19,
2B→18) on a literal number, so the test does not trust the module's own arithmetic.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.cards import nir
from drivers.cards.nir import Nir, NirError


def test_metropolitan_vector() -> None:
    assert 97 - 1841275123456 % 97 == 40
    value = Nir.parse("1 84 12 75 123 456 40")
    assert str(value) == "184127512345640"
    assert value.number == "1841275123456" and value.key == "40"
    assert value.sex == "M"
    assert value.birth_year == "84"
    assert value.birth_month == "12"
    assert value.department == "75"
    assert not value.corsica


def test_female_vector_without_spaces() -> None:
    assert 97 - 2920519012345 % 97 == 74
    value = Nir.parse("292051901234574")
    assert value.sex == "F" and value.department == "19"


def test_corsica_2a_uses_19_for_the_key() -> None:
    assert 97 - 1750619004012 % 97 == 91  # 1 75 06 [2A→19] 004 012
    value = Nir.parse("1 75 06 2A 004 012 91")
    assert value.department == "2A" and value.corsica
    # The same digits with 19 written as the department are a different, also valid, NIR.
    assert Nir.parse("1 75 06 19 004 012 91").department == "19"


def test_corsica_2b_uses_18_for_the_key() -> None:
    assert 97 - 2680718302088 % 97 == 44  # 2 68 07 [2B→18] 302 088
    value = Nir.parse("2 68 07 2b 302 088 44")  # lower case as typed by a person
    assert value.department == "2B" and str(value) == "268072B30208844"


def test_key_of_one_is_written_with_two_digits() -> None:
    assert 97 - 1551299123007 % 97 == 1
    assert Nir.parse("1 55 12 99 123 007 01").key == "01"
    assert Nir.parse("1 55 12 99 123 007 01").department == "99"  # born abroad


def test_unknown_month_kept_as_written() -> None:
    assert 97 - 2850399555123 % 97 == 5
    value = Nir.parse("2 85 03 99 555 123 05")
    assert value.birth_month == "03"
    # Month 99 (unknown): the month is kept, only the key matters.
    number = 2859975555123
    key = 97 - number % 97
    assert Nir.parse(f"{number}{key:02d}").birth_month == "99"


def test_overseas_department_has_three_digits() -> None:
    number = 1790897105032  # born in 971 (Guadeloupe), commune 05
    key = 97 - number % 97
    assert Nir.parse(f"{number}{key:02d}").department == "971"


def test_expected_key_matches_inline_arithmetic() -> None:
    assert nir.expected_key("1841275123456") == "40"
    assert nir.expected_key("175062A004012") == "91"
    assert nir.expected_key("268072B302088") == "44"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 84 12 75 123 456 41", "key 41 does not match the number \\(expected 40\\)"),
        ("1 75 06 2A 004 012 92", "expected 91"),
        ("1 84 12 75 123 456", "15 characters"),
        ("1 84 12 75 123 456 400", "15 characters"),
        ("5 84 12 75 123 456 40", "sex digit"),
        ("1 84 1X 75 123 456 40", "character 5 must be a digit"),
        ("1 84 12 2C 123 456 40", "department must be two digits, 2A or 2B"),
        ("1 84 12 3A 123 456 40", "department"),
        ("1 84 12 75 123 456 4O", "key must be two digits"),
        ("1 84 12 75 123 45² 40", "character 13 must be a digit"),
    ],
)
def test_invalid_nir_clear_error(text: str, message: str) -> None:
    with pytest.raises(NirError, match=message):
        Nir.parse(text)


def test_constructor_refuses_unnormalised_body() -> None:
    with pytest.raises(NirError, match="department"):
        Nir("268072b302088", "44")


def test_check_reports_instead_of_raising() -> None:
    good = nir.check("184127512345640")
    assert good.valid and good.problem is None and good.nir == Nir("1841275123456", "40")
    bad = nir.check("184127512345641")
    assert not bad.valid and bad.nir is None
    assert bad.text == "184127512345641"
    assert bad.problem is not None and "expected 40" in bad.problem


@given(
    st.sampled_from("123478"),
    st.text("0123456789", min_size=4, max_size=4),
    st.sampled_from(["75", "13", "2A", "2B", "99"]),
    st.text("0123456789", min_size=6, max_size=6),
)
def test_every_computed_key_validates_and_others_do_not(
    sex: str, yymm: str, dept: str, rest: str
) -> None:
    body = sex + yymm + dept + rest
    number = int(sex + yymm + {"2A": "19", "2B": "18"}.get(dept, dept) + rest)
    key = 97 - number % 97
    assert str(Nir.parse(f"{body}{key:02d}")) == f"{body}{key:02d}"
    wrong = key % 97 + 1
    with pytest.raises(NirError, match="does not match"):
        Nir.parse(f"{body}{wrong:02d}")
