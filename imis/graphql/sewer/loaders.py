"""How sewer's GraphQL fields map to the ORM (see optimizer.py)."""

from ..optimizer import register_loader
from . import types

register_loader(types.SewerConnectionType, relations={
    "building": "building", "holding": "holding", "sewer": "sewer", "payment": "payment", "events": "events"})
