"""Numbers, money and dates as Bangladeshi users expect them: lakh/crore grouping, Bangla digits in Bangla."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_decimal

BANGLA_DIGITS = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")


def to_bangla_digits(text: str) -> str:
    return str(text).translate(BANGLA_DIGITS)


def format_number(value, *, language: str = "en", decimals: int | None = None) -> str:
    """156052 -> '1,56,052' (en) / '১,৫৬,০৫২' (bn)."""
    if value is None:
        return ""
    if decimals is not None:
        pattern = "#,##,##0" + ("." + "0" * decimals if decimals else "")
    else:
        pattern = "#,##,##0.###"
    text = format_decimal(Decimal(str(value)), format=pattern, locale="en_IN")
    return to_bangla_digits(text) if language == "bn" else text


def format_taka(value, *, language: str = "en") -> str:
    """Decimal('156052') -> '৳ 1,56,052.00'."""
    return "৳ " + format_number(value, language=language, decimals=2)


def fiscal_year_label(year_start: int, *, language: str = "en") -> str:
    """2026 -> '2026-27' (Bangladesh fiscal year July-June)."""
    text = f"{year_start}-{(year_start + 1) % 100:02d}"
    return to_bangla_digits(text) if language == "bn" else text
