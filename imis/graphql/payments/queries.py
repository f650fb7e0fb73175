"""Online payment queries (read only): the gateway's checkouts, newest first, as the staff list shows them."""

from __future__ import annotations

import graphene

from imis.shared_apps.tenants.features import is_feature_enabled
from imis.tenant_apps.payments.models import OnlinePayment

from ..optimizer import optimized
from ..relay import PagedConnectionField
from . import loaders  # noqa: F401 - registers how payment fields load
from . import types as t

# A payment of one kind of due is shown while its feature is on; a checkout of several dues always is (its lines
# were payable when it was made).
FEATURE_OF_KIND = {OnlinePayment.Kind.HOLDING_TAX: "holding_tax", OnlinePayment.Kind.FSM_FEE: "fsm",
                   OnlinePayment.Kind.LICENCE_FEE: "trade_licence", OnlinePayment.Kind.WATER: "water_supply",
                   OnlinePayment.Kind.SEWER_FEE: "sewer", OnlinePayment.Kind.SEVERAL: None}


class PaymentsQuery(graphene.ObjectType):
    online_payments = PagedConnectionField(
        t.OnlinePaymentType, description="Online payments, newest first.",
        status=graphene.Argument(t.OnlinePaymentStatus), kind=graphene.Argument(t.OnlinePaymentKind))

    @staticmethod
    def resolve_online_payments(root, info, status=None, kind=None, **_paging):
        municipality = info.context.municipality
        kinds = [kind_ for kind_, feature in FEATURE_OF_KIND.items()
                 if feature is None or is_feature_enabled(municipality, feature)]
        payments = OnlinePayment.objects.filter(kind__in=kinds)
        if status:
            payments = payments.filter(status=status.value)
        if kind:
            payments = payments.filter(kind=kind.value)
        return optimized(payments.order_by("-created", "pk"), info)
