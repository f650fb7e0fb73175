"""How holding tax's GraphQL fields map to the ORM (see optimizer.py)."""

from decimal import Decimal

from django.db.models import DecimalField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from imis.tenant_apps.tax.models import Payment, PaymentAllocation

from ..optimizer import register_loader
from . import types


def _paid_on_bill():
    # What valid payments settled of each bill: a correlated subquery, right inside a prefetch too.
    paid = (PaymentAllocation.objects.filter(bill_id=OuterRef("pk"), payment__status=Payment.Status.VALID)
            .order_by().values("bill_id").annotate(total=Sum("amount")).values("total"))
    return Coalesce(Subquery(paid, output_field=DecimalField(max_digits=14, decimal_places=2)), Decimal("0.00"),
                    output_field=DecimalField(max_digits=14, decimal_places=2))


BILL_PAID = ("paid_total", _paid_on_bill())

register_loader(types.AssessmentType, relations={"holding": "holding", "zone": "zone", "objections": "objections"})
register_loader(types.ObjectionType, relations={"assessment": "assessment"})
register_loader(types.BillType, relations={"holding": "holding"}, annotations={"paid": BILL_PAID, "left": BILL_PAID})
register_loader(types.PaymentAllocationType, relations={"bill": "bill"})
register_loader(types.PaymentType, relations={"holding": "holding", "allocations": "allocations"})
register_loader(types.AdjustmentType, relations={"holding": "holding"})
