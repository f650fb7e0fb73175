"""Reads on trade licences: lists with their effective status, headline counts, verification look-ups."""

from __future__ import annotations

import datetime

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from .models import BusinessCategory, CategoryFee, Certificate, Licence

S = Licence.Status
EXPIRING_DAYS = 30
OPEN_STATUSES = (S.APPLIED, S.INSPECTED, S.APPROVED)


def effective_status(licence: Licence, *, today: datetime.date | None = None) -> str:
    """A valid licence past its last day is expired even before the nightly task marks it."""
    today = today or timezone.localdate()
    if licence.status == S.ACTIVE and licence.valid_until and licence.valid_until < today:
        return S.EXPIRED
    return licence.status


def status_filter(status: str, *, today: datetime.date | None = None) -> Q:
    today = today or timezone.localdate()
    if status == S.ACTIVE:
        return Q(status=S.ACTIVE, valid_until__gte=today)
    if status == S.EXPIRED:
        return Q(status=S.EXPIRED) | Q(status=S.ACTIVE, valid_until__lt=today)
    if status == "expiring":
        return Q(status=S.ACTIVE, valid_until__gte=today, valid_until__lte=today + datetime.timedelta(EXPIRING_DAYS))
    if status == "open":
        return Q(status__in=OPEN_STATUSES)
    return Q(status=status)


def licences_listed(*, query: str = "", status: str = "", category: str = "", ward: int | None = None
                    ) -> QuerySet[Licence]:
    licences = Licence.objects.select_related("category", "holding", "holding__ward").order_by("-applied_on", "-id")
    if query:
        q = query.strip()
        licences = licences.filter(Q(number__istartswith=q) | Q(application_number__istartswith=q)
                                   | Q(business_name__icontains=q) | Q(owner_name__icontains=q)
                                   | Q(holding__holding_id__istartswith=q))
    if status:
        licences = licences.filter(status_filter(status))
    if category:
        licences = licences.filter(category__code=category)
    if ward:
        licences = licences.filter(holding__ward__number=ward)
    return licences


def licence_counts(*, today: datetime.date | None = None) -> dict:
    today = today or timezone.localdate()
    soon = today + datetime.timedelta(EXPIRING_DAYS)
    return Licence.objects.aggregate(
        open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
        to_inspect=Count("id", filter=Q(status=S.APPLIED)),
        to_approve=Count("id", filter=Q(status=S.INSPECTED)),
        fee_due=Count("id", filter=Q(status=S.APPROVED)),
        valid=Count("id", filter=Q(status=S.ACTIVE, valid_until__gte=today)),
        expiring=Count("id", filter=Q(status=S.ACTIVE, valid_until__gte=today, valid_until__lte=soon)),
        expired=Count("id", filter=Q(status=S.EXPIRED) | Q(status=S.ACTIVE, valid_until__lt=today)),
    )


def licence_detail(pk: int) -> Licence:
    return (Licence.objects.select_related("category", "holding", "holding__ward")
            .prefetch_related("certificates", "payments", "events", "reminders").get(pk=pk))


def certificate_by_number(number: str) -> Certificate | None:
    return Certificate.objects.select_related("licence", "licence__category", "licence__holding").filter(
        number=number.strip()).first()


def licence_by_number(number: str) -> Licence | None:
    return Licence.objects.select_related("category", "holding").filter(number=number.strip()).first()


def categories_with_fees(fiscal_year: int) -> list[dict]:
    fees = {fee.category_id: fee for fee in CategoryFee.objects.filter(fiscal_year=fiscal_year)}
    return [{"category": category, "fee": fees.get(category.pk)}
            for category in BusinessCategory.objects.order_by("code")]
