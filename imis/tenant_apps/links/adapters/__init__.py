"""One adapter per kind of link, behind the small interface of `base.Adapter`."""

from __future__ import annotations

from .base import Adapter
from .health import HealthAdapter
from .national import NationalAdapter
from .utility import UtilityAdapter

ADAPTERS: dict[str, Adapter] = {adapter.kind: adapter for adapter in (HealthAdapter(), UtilityAdapter(),
                                                                      NationalAdapter())}


def adapter_for(kind: str) -> Adapter:
    return ADAPTERS[kind]
