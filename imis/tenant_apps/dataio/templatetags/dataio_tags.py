from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    """`{{ row|get_item:column }}`: a dict value by a key held in a variable."""
    if mapping is None:
        return None
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def attr_title(check):
    return getattr(check, "title", "")


@register.filter
def attr_hint(check):
    return getattr(check, "hint", "")


@register.filter
def make_list_of_ints(text):
    return [int(part) for part in str(text).split()]
