from django import template
from django.utils import translation

from imis.platform import formatting
from imis.shared_apps.tenants.features import is_feature_enabled

register = template.Library()


@register.filter
def bd_number(value, decimals=None):
    """Lakh/crore grouping; Bangla digits on Bangla pages."""
    return formatting.format_number(value, language=translation.get_language() or "en", decimals=decimals)


@register.filter
def taka(value):
    return formatting.format_taka(value, language=translation.get_language() or "en")


@register.filter
def local_digits(value):
    text = str(value)
    return formatting.to_bangla_digits(text) if translation.get_language() == "bn" else text


@register.simple_tag(takes_context=True)
def feature_enabled(context, code):
    """{% feature_enabled "fsm" as has_fsm %}: the template side of the feature gate."""
    request = context.get("request")
    return is_feature_enabled(getattr(request, "municipality", None), code)


@register.filter
def as_json(value):
    """Audit values as readable JSON (Bangla kept as letters, not escapes)."""
    import json

    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
