"""How water supply's GraphQL fields map to the ORM (see optimizer.py)."""

from ..optimizer import register_loader
from . import types

register_loader(types.WaterConnectionType, relations={
    "holding": "holding", "building": "building", "events": "events", "readings": "readings", "bills": "bills",
    "payments": "payments"})
register_loader(types.MeterReadingType, relations={"connection": "connection"})
register_loader(types.WaterBillType, relations={"connection": "connection", "payments": "payments"})
