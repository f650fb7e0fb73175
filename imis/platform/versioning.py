"""A municipality's data version: any edit or import bumps it, and every cached tile or export keyed by it is
stale at once. Kept in the (tenant-scoped) cache, so each municipality has its own counter."""

import time

from django.core.cache import cache
from django.db import transaction

DATA_VERSION_KEY = "data-version"


def data_version_current() -> int:
    version = cache.get(DATA_VERSION_KEY)
    if version is None:
        # A fresh cache must not resurrect old entries: start from the clock, not from 1.
        version = int(time.time() * 1000)
        cache.add(DATA_VERSION_KEY, version, timeout=None)
        version = cache.get(DATA_VERSION_KEY, version)
    return int(version)


def data_version_bump() -> int:
    try:
        return int(cache.incr(DATA_VERSION_KEY))
    except ValueError:  # no counter yet
        data_version_current()
        return int(cache.incr(DATA_VERSION_KEY))


def data_version_bump_on_commit() -> None:
    transaction.on_commit(data_version_bump)
