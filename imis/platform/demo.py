"""The demo pipeline behind `seed_demo`: each domain app adds a step in its own `demo.py`.

A step is `fn(*, municipality, figures, scale, seed, log)`; it runs inside the municipality's schema and must
be idempotent (re-running the demo changes nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class DemoStep:
    name: str
    order: int
    fn: Callable


TENANT_STEPS: list[DemoStep] = []


def demo_step(name: str, *, order: int = 100):
    def register(fn):
        if not any(step.name == name for step in TENANT_STEPS):
            TENANT_STEPS.append(DemoStep(name=name, order=order, fn=fn))
            TENANT_STEPS.sort(key=lambda step: step.order)
        return fn

    return register
