"""A municipality's data version: any edit or import bumps it, and every cached tile or export keyed by it is
stale at once. Kept in the (tenant-scoped) cache, so each municipality has its own counter.

Besides the one data version, each bump may say which part of the data changed (its source: the app label of
what was edited, "fsm", "tax", "registry" ...). Each source has its own counter, so a cache that reads only FSM
tables (the KPI dashboard's FSM indicators) can key itself by the FSM counter and survive a tax payment. A bump
that does not name a source bumps the "*" counter, which every source's version includes: unnamed changes stay
as conservative as before. Tiles, tax and everything keyed by `data_version_current()` are unaffected.
"""

import time
from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction

DATA_VERSION_KEY = "data-version"
SOURCE_VERSION_KEY = "data-version:source:{}"
ANY_SOURCE = "*"  # a change that did not say what it touched: every source counts as changed


def _current(key: str) -> int:
    version = cache.get(key)
    if version is None:
        # A fresh cache must not resurrect old entries: start from the clock, not from 1.
        version = int(time.time() * 1000)
        cache.add(key, version, timeout=None)
        version = cache.get(key, version)
    return int(version)


def _bump(key: str) -> int:
    try:
        return int(cache.incr(key))
    except ValueError:  # no counter yet
        _current(key)
        return int(cache.incr(key))


def data_version_current() -> int:
    return _current(DATA_VERSION_KEY)


def data_version_bump(source: str | None = None) -> int:
    """Bump the data version, and the named source's version (or, unnamed, the version every source includes)."""
    _bump(SOURCE_VERSION_KEY.format(source or ANY_SOURCE))
    return _bump(DATA_VERSION_KEY)


def data_version_bump_on_commit(source: str | None = None) -> None:
    if source is None:
        transaction.on_commit(data_version_bump)
    else:
        transaction.on_commit(lambda: data_version_bump(source))


def source_versions_current(sources: Iterable[str]) -> dict[str, int]:
    """{source: version} for the named sources and "*", in one cache round trip when they all exist."""
    names = [ANY_SOURCE, *sorted(set(sources) - {ANY_SOURCE})]
    keys = {name: SOURCE_VERSION_KEY.format(name) for name in names}
    found = cache.get_many(list(keys.values()))
    return {name: int(found[key]) if key in found else _current(key) for name, key in keys.items()}
