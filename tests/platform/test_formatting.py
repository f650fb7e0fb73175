from decimal import Decimal

import pytest

from imis.platform.formatting import fiscal_year_label, format_number, format_taka


@pytest.mark.parametrize(
    ("value", "language", "expected"),
    [(156052, "en", "1,56,052"), (156052, "bn", "১,৫৬,০৫২"), (12345678, "en", "1,23,45,678"), (999, "en", "999")],
)
def test_numbers_use_lakh_grouping_and_bangla_digits(value, language, expected):
    assert format_number(value, language=language) == expected


def test_taka_has_two_decimals():
    assert format_taka(Decimal("156052"), language="en") == "৳ 1,56,052.00"
    assert format_taka(Decimal("1500.5"), language="bn") == "৳ ১,৫০০.৫০"


def test_fiscal_year_label():
    assert fiscal_year_label(2026) == "2026-27"
    assert fiscal_year_label(2099, language="bn") == "২০৯৯-০০"
