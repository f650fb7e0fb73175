"""How trade licence GraphQL fields map to the ORM (see optimizer.py)."""

from ..optimizer import register_loader
from . import types

register_loader(types.TradeLicenceType, relations={
    "category": "category", "holding": "holding", "certificates": "certificates", "payments": "payments",
    "events": "events"})
register_loader(types.CertificateType, relations={"payment": "payment"})
