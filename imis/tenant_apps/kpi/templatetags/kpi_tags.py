"""The charts bundle, if the build has it: until src/charts.ts is in the Vite manifest the dashboard shows its
tables and cards without charts rather than failing."""

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def kpi_charts_asset() -> str:
    from django_vite.core.exceptions import DjangoViteAssetNotFoundError
    from django_vite.templatetags.django_vite import vite_asset

    try:
        return mark_safe(vite_asset("src/charts.ts"))  # noqa: S308 - django_vite's own tag markup
    except DjangoViteAssetNotFoundError:
        return ""
