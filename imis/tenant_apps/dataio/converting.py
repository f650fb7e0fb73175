"""File values -> our field values: the same types, lengths, allowed values and ranges as the registry models.

Vectorised where numpy can, cached per distinct value where it cannot: a column of 156,052 values usually has a
few hundred distinct ones. Each converter returns the values (None for SQL NULL) and the rows it refused with a
reason; the caller stages the good values and reports the refused rows.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

import numpy as np
from django.utils.translation import gettext as _

from .layers import Field, FieldType

BANGLA_DIGITS = str.maketrans("০১২৩৪৫৬৭৮৯", "0123456789")
TRUE_WORDS = {"true", "t", "yes", "y", "1", "1.0", "হ্যাঁ", "হ্যা", "সত্য"}
FALSE_WORDS = {"false", "f", "no", "n", "0", "0.0", "না", "মিথ্যা"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d")


class Refused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


Converted = tuple[list, dict[int, tuple[str, str]]]  # values, {row index: (value as text, reason)}


def shown(value) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 80 else text[:77] + "…"


def is_blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def column_convert(values: np.ndarray, ftype: FieldType, f: Field, *, holding_pattern: str = "",
                   tz: str = "Asia/Dhaka") -> Converted:
    """Convert one column of the file into our field's values.

    Each distinct value is converted once and the results are spread back over the rows, so a column of 156,052
    values with a few hundred distinct ones costs a few hundred conversions and one list comprehension.
    """
    kind = ftype.kind
    if values.dtype.kind in "iub" and kind in ("int", "bool"):
        return _numbers_vectorised(values, ftype, f)
    one = _converter(ftype, f, holding_pattern=holding_pattern, tz=tz)
    blank_result = _blank(ftype, f)
    items = values.tolist()
    if values.dtype.kind == "f":  # GDAL gives nullable numbers as floats with NaN for NULL
        items = [None if item != item else item for item in items]
    try:
        distinct = set(items)
    except TypeError:  # unhashable cells (string lists): convert them as text
        items = [None if item is None else str(item) for item in items]
        distinct = set(items)
    results = {}
    for value in distinct:
        if is_blank(value):
            results[value] = blank_result
            continue
        try:
            results[value] = one(value)
        except Refused as refused:
            results[value] = refused
    out = [results[item] for item in items]
    errors: dict[int, tuple[str, str]] = {}
    if any(isinstance(result, Refused) for result in results.values()):
        for index, item in enumerate(items):
            result = out[index]
            if isinstance(result, Refused):
                errors[index] = ("" if is_blank(item) else shown(item), result.reason)
                out[index] = None
    return out, errors


def _blank(ftype: FieldType, f: Field):
    if f.required:
        return Refused(_("a value is required"))
    if f.lookup:
        return None
    if ftype.kind in ("text", "choice"):
        return ftype.default if ftype.default is not None else ""
    if ftype.kind == "holding_id":
        return None
    return ftype.default if not ftype.nullable or ftype.default is not None else None


def _numbers_vectorised(values: np.ndarray, ftype: FieldType, f: Field) -> Converted:
    """Integer and boolean columns GDAL already typed: range checks in numpy."""
    errors = {}
    if ftype.kind == "bool":
        out = values.astype(bool).tolist()
        for index in np.flatnonzero((values != 0) & (values != 1)).tolist():
            errors[index] = (str(values[index]), _("is not yes/no (use true or false)"))
            out[index] = None
        return out, errors
    bad = np.zeros(len(values), dtype=bool)
    if ftype.minimum is not None:
        bad |= values < ftype.minimum
    if ftype.maximum is not None:
        bad |= values > ftype.maximum
    out = values.tolist()
    for index in np.flatnonzero(bad).tolist():
        errors[index] = (str(out[index]), _range_reason(ftype))
        out[index] = None
    return out, errors


def _range_reason(ftype: FieldType) -> str:
    return _("must be a whole number from %(min)s to %(max)s") % {"min": int(ftype.minimum),
                                                                   "max": int(ftype.maximum)}


def _converter(ftype: FieldType, f: Field, *, holding_pattern: str, tz: str) -> Callable:
    kind = ftype.kind
    if kind == "text":
        return lambda value: _text(value, ftype, f)
    if kind == "choice":
        lookup = choice_lookup(ftype)
        allowed = ", ".join(value for value, _label in ftype.choices if value)

        def choice(value):
            key = _choice_key(str(value))
            if key not in lookup:
                raise Refused(_("“%(value)s” is not one of: %(allowed)s") % {"value": shown(value), "allowed": allowed})
            return lookup[key]

        return choice
    if kind == "int":
        return lambda value: _int(value, ftype)
    if kind == "decimal":
        return lambda value: _decimal(value, ftype)
    if kind == "float":
        return _float
    if kind == "bool":
        return _bool
    if kind == "date":
        return _date
    if kind == "datetime":
        zone = zoneinfo.ZoneInfo(tz)
        return lambda value: _datetime(value, zone)
    if kind == "holding_id":
        pattern = re.compile(holding_pattern)

        def holding_id(value):
            text = _text(value, ftype, f).upper()
            if not pattern.fullmatch(text):
                raise Refused(_("“%(value)s” does not match this municipality's holding ID pattern %(pattern)s")
                              % {"value": shown(text), "pattern": holding_pattern})
            return text

        return holding_id
    if kind == "keys":
        def keys(value):
            parts = [part.strip().upper() for part in re.split(r"[;,|]", str(value)) if part.strip()]
            return ";".join(dict.fromkeys(parts)) or None

        return keys
    raise TypeError(kind)


def formula_unguard(text: str) -> str:
    """Our spreadsheet exports put a quote before text that starts like a formula; take it off again."""
    if text.startswith("'") and text[1:2] and text[1] in FORMULA_START:
        return text[1:]
    return text


def _text(value, ftype: FieldType, f: Field) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code stored as a number in a spreadsheet
    text = formula_unguard(str(value).strip())
    if "\x00" in text:
        raise Refused(_("contains a NUL character"))
    if ftype.max_length and len(text) > ftype.max_length:
        raise Refused(_("is %(length)s characters long; at most %(max)s are allowed")
                      % {"length": f"{len(text):,}", "max": ftype.max_length})
    return text.upper() if f.upper else text


def _choice_key(text: str) -> str:
    return re.sub(r"[\s\-/]+", "_", text.strip().lower()).strip("_")


def choice_lookup(ftype: FieldType) -> dict[str, str]:
    lookup = {}
    for value, label in ftype.choices:
        if not value:
            continue
        lookup[_choice_key(value)] = value
        lookup[_choice_key(label)] = value
    return lookup


def _number_text(value) -> str:
    return str(value).strip().translate(BANGLA_DIGITS).replace(",", "")


def _int(value, ftype: FieldType) -> int:
    if isinstance(value, bool):
        number = int(value)
    elif isinstance(value, int | np.integer):
        number = int(value)
    elif isinstance(value, float | np.floating):
        if not float(value).is_integer():
            raise Refused(_("“%(value)s” is not a whole number") % {"value": value})
        number = int(value)
    else:
        text = _number_text(value)
        if not re.fullmatch(r"[+-]?\d+(\.0*)?", text):
            raise Refused(_("“%(value)s” is not a whole number") % {"value": shown(value)})
        number = int(text.split(".")[0])
    if (ftype.minimum is not None and number < ftype.minimum) or (ftype.maximum is not None
                                                                  and number > ftype.maximum):
        raise Refused(_range_reason(ftype))
    return number


def _decimal(value, ftype: FieldType) -> Decimal:
    text = repr(float(value)) if isinstance(value, float | np.floating) else _number_text(value)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise Refused(_("“%(value)s” is not a number") % {"value": shown(value)})
    if not number.is_finite():
        raise Refused(_("“%(value)s” is not a number") % {"value": shown(value)})
    places = max(0, -number.normalize().as_tuple().exponent)
    if places > ftype.decimal_places:
        raise Refused(_("has more than %(places)s decimal places") % {"places": ftype.decimal_places})
    whole_digits = number.adjusted() + 1 if abs(number) >= 1 else 0
    if whole_digits > ftype.max_digits - ftype.decimal_places:
        raise Refused(_("is too large (at most %(digits)s digits before the decimal point)")
                      % {"digits": ftype.max_digits - ftype.decimal_places})
    if ftype.minimum is not None and number < ftype.minimum:
        raise Refused(_("must not be negative"))
    return number.quantize(Decimal(1).scaleb(-ftype.decimal_places))


def _float(value) -> float:
    try:
        number = float(_number_text(value)) if isinstance(value, str) else float(value)
    except ValueError:
        raise Refused(_("“%(value)s” is not a number") % {"value": shown(value)})
    if not np.isfinite(number):
        raise Refused(_("“%(value)s” is not a number") % {"value": shown(value)})
    return number


def _bool(value) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        if value in (0, 1):
            return bool(value)
        raise Refused(_("“%(value)s” is not yes/no (use true or false)") % {"value": value})
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise Refused(_("“%(value)s” is not yes/no (use true or false)") % {"value": shown(value)})


def _date(value) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = str(value).strip().translate(BANGLA_DIGITS)
    try:
        return datetime.date.fromisoformat(text[:10]) if re.match(r"^\d{4}-\d{2}-\d{2}", text) else _dmy(text)
    except ValueError:
        raise Refused(_("“%(value)s” is not a date (use YYYY-MM-DD)") % {"value": shown(value)})


def _dmy(text: str) -> datetime.date:
    for pattern in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a date, no time zone
        except ValueError:
            continue
    raise ValueError(text)


def _datetime(value, zone) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        moment = value
    else:
        text = str(value).strip().translate(BANGLA_DIGITS).replace("/", "-")
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            try:
                moment = datetime.datetime.combine(_dmy(str(value).strip()), datetime.time())
            except ValueError:
                raise Refused(_("“%(value)s” is not a date and time (use YYYY-MM-DD HH:MM)") % {"value": shown(value)})
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment
