"""How online payment fields map to the ORM (see optimizer.py)."""

from ..optimizer import register_loader
from . import types

register_loader(types.OnlinePaymentType, relations={"holding": "holding", "fsmApplication": "fsm_application",
                                                    "taxPayment": "tax_payment"})
