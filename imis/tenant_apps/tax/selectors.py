"""Reads on holding tax: due status and years due, defaulters, the cash book, statements and headline totals.

Everything here is a SQL aggregate: no list loads the municipality's holdings into Python. Years due follow the
apportionment rule of the services (payments go to the oldest bills first), so what is still unpaid sits in the
newest bills: a holding's years due is how many fiscal years, newest first, it takes to cover its balance.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from imis.platform.formatting import fiscal_year_label
from imis.platform.versioning import data_version_current
from imis.tenant_apps.registry.models import Holding

from .models import (
    Adjustment,
    Assessment,
    Bill,
    BillRun,
    LedgerEntry,
    Objection,
    Payment,
    PaymentAllocation,
    RateSchedule,
)
from .services import fiscal_year_of, fiscal_year_start_month, money

ZERO = Decimal("0.00")
CENT_ = Decimal("0.01")
SUMMARY_CACHE_SECONDS = 15 * 60


# --- fiscal years -------------------------------------------------------------------------------------

def fiscal_year_bounds(fiscal_year: int) -> tuple[datetime.date, datetime.date]:
    """2026 -> (1 Jul 2026, 30 Jun 2027) with the municipality's start month."""
    start_month = fiscal_year_start_month()
    start = datetime.date(fiscal_year, start_month, 1)
    end = datetime.date(fiscal_year + 1, start_month, 1) - datetime.timedelta(days=1)
    return start, end


def fiscal_years_known() -> list[int]:
    """Years with rates (a bill needs them), newest first, always including the current one."""
    years = set(RateSchedule.objects.values_list("fiscal_year", flat=True).distinct())
    years.add(fiscal_year_of(timezone.localdate()))
    return sorted(years, reverse=True)


# --- years due (the rule, in SQL) ---------------------------------------------------------------------

# One holding, by its id in `{holding}`: balance, years due, the oldest year still owed, and what of the balance
# is already past its due date. Usable as `LEFT JOIN LATERAL (...) ON true` next to anything with a holding id:
# the unique index on tax_bill (holding_id, fiscal_year, period) and the ledger's holding index make it a few
# index lookups per holding.
_HOLDING_DUE_SQL = """
SELECT bal.balance, COALESCE(yd.years_due, 0) AS years_due, yd.oldest_year_due,
       GREATEST(bal.balance - COALESCE(nyd.amount, 0), 0) AS overdue, bal.entries
FROM (SELECT COALESCE(sum(l.amount), 0) AS balance, count(*) AS entries
      FROM tax_ledgerentry l WHERE l.holding_id = {holding}) bal
LEFT JOIN LATERAL (
    SELECT count(*) AS years_due, min(c.fiscal_year) AS oldest_year_due FROM (
        SELECT y.fiscal_year, sum(y.charged) OVER (ORDER BY y.fiscal_year DESC) - y.charged AS newer
        FROM (SELECT b.fiscal_year, sum(b.current_amount + b.surcharge) AS charged
              FROM tax_bill b WHERE b.holding_id = {holding} GROUP BY b.fiscal_year) y
    ) c WHERE c.newer < bal.balance
) yd ON bal.balance > 0
LEFT JOIN LATERAL (
    SELECT sum(b.current_amount + b.surcharge) AS amount FROM tax_bill b
    WHERE b.holding_id = {holding} AND b.due_date >= {today}
) nyd ON bal.balance > 0
"""

_YEARS_DUE_SQL = """
SELECT bal.balance,
       CASE WHEN bal.balance > 0 THEN (
           SELECT count(*) FROM (
               SELECT sum(y.charged) OVER (ORDER BY y.fiscal_year DESC) - y.charged AS newer
               FROM (SELECT b.fiscal_year, sum(b.current_amount + b.surcharge) AS charged
                     FROM tax_bill b WHERE b.holding_id = {holding} GROUP BY b.fiscal_year) y
           ) c WHERE c.newer < bal.balance)
       ELSE 0 END AS years_due
FROM (SELECT COALESCE(sum(l.amount), 0) AS balance FROM tax_ledgerentry l WHERE l.holding_id = {holding}) bal
"""


def holding_years_due_join(holding_column: str = "t.holding_id", alias: str = "tax_due", *,
                           with_overdue: bool = False) -> str:
    """A join clause giving `<alias>.years_due` (0, 1, 2, …) and `<alias>.balance` for the holding whose id is in
    `holding_column` — for the map's `buildings_tax_due` layer:

        joins=BUILDING_JOINS + " " + holding_years_due_join("t.holding_id")
        P("years_due", "tax_due.years_due", "integer", True)

    A building without a holding gets NULLs. `with_overdue` adds `<alias>.overdue` and `<alias>.oldest_year_due`
    (two more lookups)."""
    template = _HOLDING_DUE_SQL if with_overdue else _YEARS_DUE_SQL
    sql = template.format(holding=holding_column, today="current_date")
    return f"LEFT JOIN LATERAL ({sql}) {alias} ON {holding_column} IS NOT NULL"


@dataclass(frozen=True)
class HoldingDue:
    balance: Decimal
    years_due: int
    overdue: Decimal

    @property
    def credit(self) -> Decimal:
        """Paid in advance: what the holding has in hand (0 when it owes)."""
        return -self.balance if self.balance < 0 else ZERO


def holding_due(holding: Holding, *, today: datetime.date | None = None) -> HoldingDue:
    sql = _HOLDING_DUE_SQL.format(holding="%(holding)s", today="%(today)s")
    with connection.cursor() as cursor:
        cursor.execute(sql, {"holding": holding.pk, "today": today or timezone.localdate()})
        balance, years, _oldest, overdue, _entries = cursor.fetchone()
    return HoldingDue(balance=money(balance), years_due=int(years), overdue=money(overdue))


# The whole municipality (or one ward) in one pass: per-year charges aggregated, one window over them. Each
# aggregate is a subquery read once (a CTE joined to itself gets guessed sizes and nested loops). For a ward, every
# aggregate is restricted to the ward's holdings first, so the same hash joins run over a slice of the tables.
_DUE_SQL = """
SELECT h.id, h.holding_id, w.number, COALESCE(bl.balance, 0), COALESCE(c.years_due, 0),
       GREATEST(COALESCE(bl.balance, 0) - COALESCE(c.not_yet_due, 0), 0), c.oldest_year_due
FROM registry_holding h
JOIN registry_ward w ON w.id = h.ward_id {ward_filter}
LEFT JOIN (SELECT l.holding_id, sum(l.amount) AS balance FROM tax_ledgerentry l {ledger_filter}
           GROUP BY l.holding_id) bl
       ON bl.holding_id = h.id
LEFT JOIN (
    SELECT y.holding_id, count(*) FILTER (WHERE y.newer < y.balance) AS years_due, sum(y.not_yet_due) AS not_yet_due,
           min(y.fiscal_year) FILTER (WHERE y.newer < y.balance) AS oldest_year_due
    FROM (SELECT yr.holding_id, yr.fiscal_year, yr.not_yet_due, owing.balance,
                 sum(yr.charged) OVER (PARTITION BY yr.holding_id ORDER BY yr.fiscal_year DESC) - yr.charged AS newer
          FROM (SELECT b.holding_id, b.fiscal_year, sum(b.current_amount + b.surcharge) AS charged,
                       COALESCE(sum(b.current_amount + b.surcharge) FILTER (WHERE b.due_date >= %(today)s), 0)
                           AS not_yet_due
                FROM tax_bill b {bill_filter} GROUP BY b.holding_id, b.fiscal_year) yr
          JOIN (SELECT l.holding_id, sum(l.amount) AS balance FROM tax_ledgerentry l {ledger_filter}
                GROUP BY l.holding_id HAVING sum(l.amount) > 0) owing ON owing.holding_id = yr.holding_id
    ) y GROUP BY y.holding_id
) c ON c.holding_id = h.id
WHERE bl.balance IS NOT NULL OR EXISTS (SELECT 1 FROM tax_assessment a WHERE a.holding_id = h.id AND a.is_current)
"""
_WARD_HOLDINGS = ("(SELECT wh.id FROM registry_holding wh JOIN registry_ward ww ON ww.id = wh.ward_id "
                  "WHERE ww.number = %(ward)s)")
_CITY_DUE_SQL = _DUE_SQL.format(ward_filter="", ledger_filter="", bill_filter="")
_WARD_DUE_SQL = _DUE_SQL.format(ward_filter="AND w.number = %(ward)s",
                                ledger_filter=f"WHERE l.holding_id IN {_WARD_HOLDINGS}",
                                bill_filter=f"WHERE b.holding_id IN {_WARD_HOLDINGS}")

DueRow = tuple  # (pk, holding_id, ward, balance in paisa, years_due, overdue in paisa, oldest_year_due)


def _rows(sql: str, params: dict) -> list[DueRow]:
    """Amounts as whole paisa (ints): exact, and a 130k-row table pickles to the cache and back quickly."""
    from django.db import transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64MB'")  # the city's aggregates in memory, not on disk
        cursor.execute("SET LOCAL jit = off")  # compiling costs more than it saves here
        cursor.execute(sql, params)
        return [(pk, code, ward, int(balance * 100), int(years), int(overdue * 100), oldest)
                for pk, code, ward, balance, years, overdue, oldest in cursor.fetchall()]


def _taka(paisa: int) -> Decimal:
    return (Decimal(paisa) / 100).quantize(CENT_)


def due_table(*, ward: int | None = None, today: datetime.date | None = None) -> list[DueRow]:
    """Every assessed or billed holding (of a ward) with balance, years due, overdue and the oldest year owed.

    The municipality's table is computed once per data version (any payment or bill run makes a new one) and
    shared by the due list, the defaulters, the headline and the map data; a ward's comes from per-holding
    lookups when the municipality's is not at hand."""
    today = today or timezone.localdate()
    key = f"tax:due-table:{data_version_current()}:{today.isoformat()}"
    table = cache.get(key)
    if table is None and ward is not None:
        return _rows(_WARD_DUE_SQL, {"ward": ward, "today": today})
    if table is None:
        table = _rows(_CITY_DUE_SQL, {"today": today})
        cache.set(key, table, SUMMARY_CACHE_SECONDS)
    return [row for row in table if row[2] == ward] if ward is not None else table


DUE_ORDERINGS = {
    "holding": lambda row: row[1],
    "-balance": lambda row: (-row[3], row[1]),
    "balance": lambda row: (row[3], row[1]),
    "-years_due": lambda row: (-row[4], -row[3], row[1]),
    "ward": lambda row: (row[2], row[1]),
    "-overdue": lambda row: (-row[5], row[1]),
}


@dataclass(frozen=True)
class DueFilter:
    ward: int | None = None
    years_due: int | None = None  # exactly
    min_years_due: int | None = None
    holding_prefix: str = ""
    defaulters_only: bool = False  # something past its due date is unpaid
    order: str = "holding"

    def matches(self, row: DueRow) -> bool:
        if self.years_due is not None and row[4] != self.years_due:
            return False
        if self.min_years_due is not None and row[4] < self.min_years_due:
            return False
        if self.defaulters_only and row[5] <= 0:
            return False
        return not self.holding_prefix or row[1].upper().startswith(self.holding_prefix.strip().upper())


def due_matching(filters: DueFilter, *, today: datetime.date | None = None) -> list[DueRow]:
    rows = [row for row in due_table(ward=filters.ward, today=today) if filters.matches(row)]
    rows.sort(key=DUE_ORDERINGS.get(filters.order, DUE_ORDERINGS["holding"]))
    return rows


def _as_dicts(rows: list[DueRow], *, with_owner: bool = True) -> list[dict]:
    owners: dict[int, tuple[str, str]] = {}
    if with_owner and rows:
        from imis.tenant_apps.registry.models import Owner

        for holding_id, name, phone in Owner.objects.filter(holding_id__in=[row[0] for row in rows]).order_by(
                "-id").values_list("holding_id", "name", "phone"):
            owners[holding_id] = (name, phone)  # the first owner wins (ordered last to first)
    return [{"pk": pk, "holding_id": code, "ward": ward, "balance": _taka(balance), "years_due": years,
             "overdue": _taka(overdue), "oldest_year_due": oldest, "owner": owners.get(pk, ("", ""))[0],
             "phone": owners.get(pk, ("", ""))[1]} for pk, code, ward, balance, years, overdue, oldest in rows]


def _totals(rows: list[DueRow]) -> dict:
    return {"count": len(rows), "balance": _taka(sum(row[3] for row in rows)),
            "overdue": _taka(sum(row[5] for row in rows))}


def due_status_count(filters: DueFilter, *, today: datetime.date | None = None) -> dict:
    """How many holdings match, and their balance and overdue totals."""
    return _totals(due_matching(filters, today=today))


def due_status_rows(filters: DueFilter, *, limit: int | None = 50, offset: int = 0,
                    today: datetime.date | None = None, with_owner: bool = True) -> list[dict]:
    rows = due_matching(filters, today=today)
    return _as_dicts(rows[offset:offset + limit] if limit is not None else rows[offset:], with_owner=with_owner)


def due_status_page(filters: DueFilter, *, limit: int = 50, offset: int = 0,
                    today: datetime.date | None = None) -> tuple[list[dict], dict]:
    """One page of the list and the totals of everything that matches."""
    rows = due_matching(filters, today=today)
    return _as_dicts(rows[offset:offset + limit]), _totals(rows)


def due_status_summary(*, ward: int | None = None, today: datetime.date | None = None) -> list[dict]:
    """Holdings per years due (0, 1, 2, 3+) with their balances: the due-status headline."""
    buckets = {bucket: {"years_due": bucket, "count": 0, "balance": 0, "overdue": 0} for bucket in range(4)}
    for row in due_table(ward=ward, today=today):
        bucket = buckets[min(row[4], 3)]
        bucket["count"] += 1
        bucket["balance"] += row[3]
        bucket["overdue"] += row[5]
    return [{**bucket, "balance": _taka(bucket["balance"]), "overdue": _taka(bucket["overdue"])}
            for bucket in buckets.values()]


def holdings_years_due(*, ward: int | None = None, today: datetime.date | None = None) -> dict[int, int]:
    """{holding pk: years due} for every assessed or billed holding (of a ward): the tax-due thematic data."""
    return {row[0]: row[4] for row in due_table(ward=ward, today=today)}


# --- headline totals ----------------------------------------------------------------------------------

def tax_totals(fiscal_year: int) -> dict:
    """Billed, collected, adjusted in a fiscal year and the receivable now; cached per data version."""
    key = f"tax:totals:{data_version_current()}:{fiscal_year}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    start, end = fiscal_year_bounds(fiscal_year)
    bills = Bill.objects.filter(fiscal_year=fiscal_year).aggregate(
        current=Sum("current_amount"), surcharge=Sum("surcharge"), count=Count("id"),
        holdings=Count("holding", distinct=True))
    billed = money((bills["current"] or 0) + (bills["surcharge"] or 0))
    payments = Payment.objects.filter(status=Payment.Status.VALID, received_at__date__gte=start,
                                      received_at__date__lte=end).aggregate(total=Sum("amount"), count=Count("id"))
    collected = money(payments["total"] or 0)
    applied = money(PaymentAllocation.objects.filter(bill__fiscal_year=fiscal_year,
                                                     payment__status=Payment.Status.VALID)
                    .aggregate(total=Sum("amount"))["total"] or 0)
    adjusted = money(Adjustment.objects.filter(status=Adjustment.Status.APPROVED, decided_at__date__gte=start,
                                               decided_at__date__lte=end).aggregate(total=Sum("amount"))["total"]
                     or 0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(sum(balance) FILTER (WHERE balance > 0), 0), "
                       "COALESCE(-sum(balance) FILTER (WHERE balance < 0), 0), count(*) FILTER (WHERE balance > 0) "
                       "FROM (SELECT sum(amount) AS balance FROM tax_ledgerentry GROUP BY holding_id) b")
        receivable, advance, owing = cursor.fetchone()
    totals = {
        "fiscal_year": fiscal_year, "billed": billed, "bills": bills["count"], "holdings_billed": bills["holdings"],
        "collected": collected, "payments": payments["count"], "adjusted": adjusted,
        "due": money(receivable), "advance": money(advance), "holdings_owing": owing,
        "due_this_year": max(billed - applied, ZERO),
        "collection_rate": (applied / billed * 100).quantize(Decimal("0.1")) if billed else None,
    }
    cache.set(key, totals, SUMMARY_CACHE_SECONDS)
    return totals


def collection_by_ward(fiscal_year: int) -> list[dict]:
    """Per ward: billed and paid towards that year's bills (allocations), for the home page table."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT w.number, count(DISTINCT b.holding_id), COALESCE(sum(b.current_amount + b.surcharge), 0),
                   COALESCE(sum(pa.paid), 0)
            FROM tax_bill b
            JOIN registry_holding h ON h.id = b.holding_id JOIN registry_ward w ON w.id = h.ward_id
            LEFT JOIN (SELECT a.bill_id, sum(a.amount) AS paid FROM tax_paymentallocation a
                       JOIN tax_payment p ON p.id = a.payment_id AND p.status = 'valid'
                       JOIN tax_bill b2 ON b2.id = a.bill_id AND b2.fiscal_year = %(fy)s
                       GROUP BY a.bill_id) pa ON pa.bill_id = b.id
            WHERE b.fiscal_year = %(fy)s
            GROUP BY w.number ORDER BY w.number""", {"fy": fiscal_year})
        rows = []
        for ward, holdings, billed, paid in cursor.fetchall():
            billed, paid = money(billed), money(paid)
            rows.append({"ward": ward, "holdings": holdings, "billed": billed, "paid": paid,
                         "due": max(billed - paid, ZERO),
                         "rate": (paid / billed * 100).quantize(Decimal("0.1")) if billed else None})
        return rows


# --- statements ---------------------------------------------------------------------------------------

def holding_for_tax(holding_id: str) -> Holding | None:
    """A holding by the ID people quote (case and spaces forgiven)."""
    text = (holding_id or "").strip()
    if not text:
        return None
    return Holding.objects.select_related("ward").filter(holding_id__iexact=text).first()


def holding_statement(holding: Holding) -> dict:
    """The holding tax page: ledger with running balance, bills with what is left, payments, years due."""
    entries = list(LedgerEntry.objects.filter(holding=holding).select_related("payment", "bill")
                   .order_by("at", "id"))
    running = ZERO
    ledger = []
    for entry in entries:
        running += entry.amount
        ledger.append({"entry": entry, "balance": running, "charge": entry.amount if entry.amount > 0 else None,
                       "credit": -entry.amount if entry.amount < 0 else None,
                       "fy": fiscal_year_label(entry.fiscal_year) if entry.fiscal_year else ""})
    paid = dict(PaymentAllocation.objects.filter(bill__holding=holding, payment__status=Payment.Status.VALID)
                .values_list("bill").annotate(total=Sum("amount")).values_list("bill", "total"))
    bills = []
    for bill in Bill.objects.filter(holding=holding).order_by("-fiscal_year", "-period"):
        charged = bill.current_amount + bill.surcharge
        settled = money(paid.get(bill.pk) or 0)
        bills.append({"bill": bill, "charged": charged, "paid": settled, "left": max(charged - settled, ZERO),
                      "fy": fiscal_year_label(bill.fiscal_year)})
    due = holding_due(holding)
    return {
        "ledger": ledger[::-1], "bills": bills,
        "payments": list(Payment.objects.filter(holding=holding).order_by("-received_at")),
        "due": due,
        "assessments": list(Assessment.objects.filter(holding=holding).select_related("zone")
                            .prefetch_related("objections").order_by("-fiscal_year", "-version")),
        "adjustments": list(Adjustment.objects.filter(holding=holding).order_by("-requested_at")),
    }


def latest_bill(holding: Holding) -> Bill | None:
    return Bill.objects.filter(holding=holding).order_by("-fiscal_year", "-period").first()


# --- the cash book ------------------------------------------------------------------------------------

def cash_book(*, day: datetime.date, cashier_id: int | None) -> dict:
    """A cashier's (or every counter's, None) receipts of one local day: rows, totals by method, reversed receipts."""
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    end = start + datetime.timedelta(days=1)
    payments = (Payment.objects.filter(received_at__gte=start, received_at__lt=end)
                .exclude(method=Payment.Method.ONLINE)  # the counter's book: online payments have no cashier
                .select_related("holding").order_by("received_at", "id"))
    if cashier_id:
        payments = payments.filter(cashier_id=cashier_id)
    totals = {row["method"]: {"count": row["count"], "amount": money(row["amount"])}
              for row in payments.filter(status=Payment.Status.VALID).order_by().values("method")
              .annotate(count=Count("id"), amount=Sum("amount"))}
    by_method = [{"method": value, "label": label, **totals.get(value, {"count": 0, "amount": ZERO})}
                 for value, label in Payment.Method.choices if value != Payment.Method.ONLINE]
    valid_total = sum((row["amount"] for row in by_method), ZERO)
    return {
        "day": day, "payments": list(payments), "by_method": by_method, "total": valid_total,
        "count": sum(row["count"] for row in by_method),
        "reversed": payments.exclude(status=Payment.Status.VALID).count(),
    }


def cashiers_with_payments(*, day: datetime.date) -> list[tuple[int, str]]:
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    rows = (Payment.objects.filter(received_at__gte=start, received_at__lt=start + datetime.timedelta(days=1))
            .exclude(cashier_id=None).order_by().values_list("cashier_id", "cashier_label").distinct())
    return sorted(set(rows), key=lambda row: row[1])


# --- lists --------------------------------------------------------------------------------------------

def bill_runs_listed() -> QuerySet[BillRun]:
    return BillRun.objects.order_by("-started")


def rate_schedules_listed() -> QuerySet[RateSchedule]:
    return RateSchedule.objects.prefetch_related("heads").order_by("-fiscal_year", "-effective_from")


def adjustments_pending() -> QuerySet[Adjustment]:
    return Adjustment.objects.filter(status=Adjustment.Status.PENDING).select_related("holding").order_by(
        "requested_at")


def objections_pending() -> QuerySet[Objection]:
    return (Objection.objects.filter(status=Objection.Status.PENDING)
            .select_related("assessment", "assessment__holding").order_by("filed_on", "id"))


def assessments_count(fiscal_year: int) -> dict:
    return Assessment.objects.filter(fiscal_year=fiscal_year, is_current=True).aggregate(
        total=Count("id"), exempt=Count("id", filter=~Q(exemption="")))


def payment_by_receipt(number: str) -> Payment | None:
    return Payment.objects.select_related("holding", "holding__ward").filter(receipt_number=number).first()


def bill_by_number(number: str) -> Bill | None:
    return Bill.objects.select_related("holding", "holding__ward").filter(number=number).first()


def bill_paid(bill: Bill) -> Decimal:
    return money(PaymentAllocation.objects.filter(bill=bill, payment__status=Payment.Status.VALID)
                 .aggregate(total=Sum("amount"))["total"] or 0)
