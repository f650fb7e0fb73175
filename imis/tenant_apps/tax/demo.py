"""Demo holding tax: rates, zones, assessments from the registry's buildings, and three fiscal years of quarterly
bills with a payment history — most pay on time, some once a year with surcharge, some irregularly, some stop
paying — for every municipality with holding tax switched on.

Set-based SQL at real scale (Khulna: ~135k holdings, ~1.3M bills): each quarter is billed with the same arithmetic
as the bill run (heads, rounding, arrears, surcharge on arrears), then that quarter's payments settle whole
balances, allocated to the open bills oldest first, as the services do. Deterministic (hashes of holding IDs and
the seed, a fixed calendar ending 28 Nov 2026) and idempotent (a municipality with bills is left as it is).
"""

from __future__ import annotations

import datetime
import time
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from imis.platform.demo import demo_step
from imis.shared_apps.tenants.features import is_feature_enabled
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.registry.models import Holding

from . import services
from .models import Assessment, Bill, BillRun, Payment, RateSchedule, ReceiptCounter, TaxZone, UseRate

DEMO_TODAY = datetime.date(2026, 11, 28)
FISCAL_YEARS = (2024, 2025, 2026)
HEADS = {"holding_tax": Decimal(7), "conservancy": Decimal(7), "lighting": Decimal(3), "water": Decimal(3)}
USE_RATES = {  # annual value per m² of floor area, owner-occupied
    "residential": 120, "commercial": 300, "mixed": 200, "industrial": 180, "institutional": 150,
    "educational": 100, "health": 150, "religious": 100, "government": 100,
}
RENT_PER_M2 = {"residential": 55, "commercial": 160, "mixed": 95}  # declared monthly rent where let
ZONES = (("A", "Commercial core", Decimal("1.40")), ("B", "Urban", Decimal("1.00")),
         ("C", "Peri-urban", Decimal("0.75")))

# who pays how: share of holdings (cumulative bounds on a hash in [0, 1))
PROMPT, ANNUAL, IRREGULAR, LAPSED = 0.62, 0.76, 0.87, 0.94  # the rest never pay

HASH = "(('x' || substr(md5({text}), 1, 7))::bit(28)::int / 268435456.0)"


def _h(text_sql: str) -> str:
    return HASH.format(text=text_sql)


@demo_step("tax.history", order=60)
def demo_tax(*, municipality, figures, scale, seed, log):
    if not is_feature_enabled(municipality, "holding_tax"):
        return
    if Bill.objects.exists() or Assessment.objects.exists():
        log(f"  {municipality.slug}: holding tax present, left as it is")
        return
    if not Holding.objects.exists():
        log(f"  {municipality.slug}: no holdings, no holding tax demo")
        return
    started = time.perf_counter()
    with transaction.atomic():
        rates_and_zones()
        assessed = assessments_create(seed=seed)
        cashiers = demo_cashiers(municipality)
        totals = {"bills": 0, "payments": 0}
        history_prepare()
        for fiscal_year in FISCAL_YEARS:
            for period in (1, 2, 3, 4):
                issue = period_start(fiscal_year, period)
                if issue > DEMO_TODAY:
                    break
                totals["bills"] += period_bill(fiscal_year, period, issue)
                totals["payments"] += period_payments(fiscal_year, period, issue, seed=seed, cashiers=cashiers)
        receipts_number()
        extras(municipality)
        summaries(assessed, totals)
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE demo_balance; DROP TABLE demo_open")
            for table in ("tax_assessment", "tax_bill", "tax_payment", "tax_paymentallocation", "tax_ledgerentry"):
                cursor.execute(f"ANALYZE {table}")
    log(f"  {municipality.slug}: {assessed:,} assessments, {totals['bills']:,} bills, {totals['payments']:,} "
        f"payments in {time.perf_counter() - started:.1f}s")


def period_start(fiscal_year: int, period: int) -> datetime.date:
    month = services.fiscal_year_start_month() - 1 + (period - 1) * 3
    return datetime.date(fiscal_year + month // 12, month % 12 + 1, 1)


def rates_and_zones() -> None:
    for code, name, factor in ZONES:
        TaxZone.objects.get_or_create(code=code, defaults={"name": name, "factor": factor})
    for fiscal_year in FISCAL_YEARS:
        services.rate_schedule_set(by=None, fiscal_year=fiscal_year,
                                   effective_from=datetime.date(fiscal_year, services.fiscal_year_start_month(), 1),
                                   heads=HEADS, surcharge_percent=5, rebate_percent=10, instalments=4)
        UseRate.objects.bulk_create([UseRate(fiscal_year=fiscal_year, functional_use=use, rate_per_m2=rate)
                                     for use, rate in USE_RATES.items()], ignore_conflicts=True)


def assessments_create(*, seed: int) -> int:
    """One assessment per holding and year from its buildings: floor area × use rate × zone, or declared rent
    for a share of the let ones; religious and government holdings exempt."""
    rent_cases = " ".join(f"WHEN '{use}' THEN {rate}" for use, rate in RENT_PER_M2.items())
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(number) FROM registry_ward")
        (wards,) = cursor.fetchone()
        wards = wards or 1
        cursor.execute(f"""
            CREATE TEMP TABLE demo_assess ON COMMIT DROP AS
            SELECT h.id AS holding_id, h.holding_id AS code,
                   GREATEST(COALESCE(b.floor_area, 0), 30)::numeric(10, 2) AS floor_area,
                   COALESCE(b.main_use, 'residential') AS use,
                   z.id AS zone_id, z.factor,
                   {_h("h.holding_id || ':let:' || %(seed)s")} AS let_draw
            FROM registry_holding h
            JOIN registry_ward w ON w.id = h.ward_id
            LEFT JOIN LATERAL (
                SELECT sum(ST_Area(x.footprint::geography) * x.floors) AS floor_area,
                       (array_agg(x.functional_use ORDER BY ST_Area(x.footprint::geography) DESC))[1] AS main_use
                FROM registry_building x WHERE x.holding_id = h.id) b ON true
            JOIN tax_taxzone z ON z.code = CASE WHEN w.number <= GREATEST(1, %(wards)s / 5) THEN 'A'
                                                WHEN w.number <= GREATEST(2, %(wards)s * 7 / 10) THEN 'B'
                                                ELSE 'C' END
        """, {"seed": seed, "wards": wards})
        total = 0
        for fiscal_year in FISCAL_YEARS:
            cursor.execute(f"""
                INSERT INTO tax_assessment (holding_id, fiscal_year, basis, monthly_rent, floor_area_m2,
                    functional_use, zone_id, annual_value, exemption, exemption_reason, version, is_current,
                    reason, created, created_by_id)
                SELECT a.holding_id, %(fy)s,
                       CASE WHEN let THEN 'rent' ELSE 'owner_occupied' END,
                       CASE WHEN let THEN rent END,
                       CASE WHEN let THEN NULL ELSE a.floor_area END,
                       CASE WHEN let THEN '' ELSE a.use END,
                       CASE WHEN let THEN NULL ELSE a.zone_id END,
                       CASE WHEN let THEN round(rent * 10, 2)
                            ELSE round(a.floor_area * u.rate_per_m2 * a.factor, 2) END,
                       CASE a.use WHEN 'religious' THEN 'religious' WHEN 'government' THEN 'government' ELSE '' END,
                       '', 1, true, '', %(at)s, NULL
                FROM (SELECT d.*, d.let_draw < 0.35 AND d.use IN ('residential', 'commercial', 'mixed') AS let,
                             round(d.floor_area * CASE d.use {rent_cases} ELSE 50 END / 10, 0) * 10 AS rent
                      FROM demo_assess d) a
                JOIN tax_userate u ON u.fiscal_year = %(fy)s AND u.functional_use = a.use
            """, {"fy": fiscal_year, "at": timezone.make_aware(datetime.datetime(fiscal_year, 7, 1, 10))})
            total += cursor.rowcount
    return total


def demo_cashiers(municipality) -> list[tuple[int | None, str]]:
    from imis.shared_apps.accounts.models import User
    from imis.shared_apps.tenants.demo import demo_email

    found = []
    for role in ("cashier", "tax_officer"):
        user = User.objects.filter(email=demo_email(role, municipality.slug)).first()
        if user is not None:
            found.append((user.pk, user.email))
    return found or [(None, "counter")]


def history_prepare() -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE demo_balance (holding_id bigint PRIMARY KEY, balance numeric(14, 2)) "
                       "ON COMMIT DROP")
        cursor.execute("CREATE TEMP TABLE demo_open (bill_id bigint PRIMARY KEY, holding_id bigint, "
                       "fiscal_year int, period int, amount numeric(14, 2)) ON COMMIT DROP")
        cursor.execute("CREATE INDEX ON demo_open (holding_id)")
        cursor.execute("INSERT INTO demo_balance SELECT DISTINCT holding_id, 0 FROM tax_assessment")


def period_bill(fiscal_year: int, period: int, issue: datetime.date) -> int:
    """The bill run's arithmetic for every assessed, non-exempt holding (see services.BILL_CHUNK_SQL)."""
    schedule = services.rate_schedule_for(fiscal_year)
    heads = list(schedule.heads.all())
    due = services.period_due_date(fiscal_year, period, schedule.instalments)
    at = timezone.make_aware(datetime.datetime.combine(issue, datetime.time(9, 0)))
    run = BillRun.objects.create(fiscal_year=fiscal_year, period=period, finished=at)
    BillRun.objects.filter(pk=run.pk).update(started=at)
    params = {"fy": fiscal_year, "period": period, "n": schedule.instalments, "issue": issue, "due": due,
              "codes": [h.code for h in heads], "percents": [h.percent for h in heads],
              "surcharge_pct": schedule.surcharge_percent, "run": run.pk, "at": at}
    with connection.cursor() as cursor:
        cursor.execute("""
            CREATE TEMP TABLE demo_new ON COMMIT DROP AS
            WITH priced AS (
                SELECT h.id AS holding_id, h.holding_id AS code, a.annual_value, bal.balance, heads.shares,
                       heads.total AS current_amount,
                       CASE WHEN bal.balance > 0 THEN round(bal.balance * %(surcharge_pct)s / 100, 2) ELSE 0 END
                           AS surcharge
                FROM tax_assessment a
                JOIN registry_holding h ON h.id = a.holding_id
                JOIN demo_balance bal ON bal.holding_id = a.holding_id
                CROSS JOIN LATERAL (
                    SELECT jsonb_object_agg(code, share) AS shares, sum(share) AS total FROM (
                        SELECT code, CASE WHEN %(period)s = %(n)s
                                          THEN round(a.annual_value * pct / 100, 2)
                                               - round(round(a.annual_value * pct / 100, 2) / %(n)s, 2) * (%(n)s - 1)
                                          ELSE round(round(a.annual_value * pct / 100, 2) / %(n)s, 2) END AS share
                        FROM unnest(%(codes)s::text[], %(percents)s::numeric[]) AS head(code, pct)) per_head
                ) heads
                WHERE a.fiscal_year = %(fy)s AND a.is_current AND a.exemption = ''
            )
            SELECT nextval(pg_get_serial_sequence('tax_bill', 'id')) AS id, * FROM priced
        """, params)
        cursor.execute("""
            INSERT INTO tax_bill (id, holding_id, fiscal_year, period, number, issue_date, due_date, annual_value,
                                  current_amount, heads, arrears, surcharge, total_payable, bill_run_id)
            SELECT id, holding_id, %(fy)s, %(period)s, 'HT' || %(fy)s || '-' || %(period)s || '-' || code, %(issue)s,
                   %(due)s, annual_value, current_amount, shares, GREATEST(balance, 0), surcharge,
                   GREATEST(balance, 0) + surcharge + current_amount, %(run)s
            FROM demo_new
        """, params)
        created = cursor.rowcount
        cursor.execute("""
            INSERT INTO tax_ledgerentry (holding_id, kind, amount, fiscal_year, bill_id, at, memo)
            SELECT holding_id, 'bill', current_amount, %(fy)s, id, %(at)s,
                   'HT' || %(fy)s || '-' || %(period)s || '-' || code FROM demo_new
            UNION ALL
            SELECT holding_id, 'surcharge', surcharge, %(fy)s, id, %(at)s,
                   'surcharge on arrears, HT' || %(fy)s || '-' || %(period)s || '-' || code
            FROM demo_new WHERE surcharge > 0
        """, params)
        cursor.execute("INSERT INTO demo_open SELECT id, holding_id, %(fy)s, %(period)s, current_amount + surcharge "
                       "FROM demo_new", params)
        cursor.execute("UPDATE demo_balance b SET balance = b.balance + n.current_amount + n.surcharge "
                       "FROM demo_new n WHERE n.holding_id = b.holding_id")
        cursor.execute("DROP TABLE demo_new")
    BillRun.objects.filter(pk=run.pk).update(bills_created=created)
    return created


def period_payments(fiscal_year: int, period: int, issue: datetime.date, *, seed: int,
                    cashiers: list[tuple[int | None, str]]) -> int:
    """Who pays this quarter, when and how; each payment settles the whole balance, open bills oldest first."""
    due = services.period_due_date(fiscal_year, period, 4)
    last_day = min(due, DEMO_TODAY - datetime.timedelta(days=1))
    window = (last_day - issue).days
    is_current = due > DEMO_TODAY
    index = FISCAL_YEARS.index(fiscal_year) * 4 + period  # 1 … 12 through the three years
    tag = f"{fiscal_year}-{period}"
    draw = _h(f"h.holding_id || ':{tag}:' || %(seed)s")
    who = _h("h.holding_id || ':class:' || %(seed)s")
    pays = f"""CASE
        WHEN w < {PROMPT} THEN {'d < 0.62' if is_current else 'd < 0.97'}
        WHEN w < {ANNUAL} THEN %(period)s = 4
        WHEN w < {IRREGULAR} THEN d < 0.5
        WHEN w < {LAPSED} THEN %(index)s <= 6 AND d < 0.9
        ELSE %(index)s = 1 AND d < 0.3 END"""
    cashier_ids = [pk for pk, _label in cashiers]
    cashier_labels = [label for _pk, label in cashiers]
    with connection.cursor() as cursor:
        cursor.execute(f"""
            CREATE TEMP TABLE demo_pay ON COMMIT DROP AS
            SELECT nextval(pg_get_serial_sequence('tax_payment', 'id')) AS id, p.holding_id, p.amount,
                   p.received_at, p.method, p.reference, p.cashier
            FROM (
                SELECT b.holding_id, b.balance AS amount,
                       (%(issue)s::date + floor(d2 * (%(window)s + 1))::int + time '10:00'
                        + make_interval(mins => floor(d3 * 390)::int)) AT TIME ZONE 'Asia/Dhaka' AS received_at,
                       CASE WHEN d3 < 0.74 THEN 'cash' WHEN d3 < 0.86 THEN 'cheque' ELSE 'bank' END AS method,
                       CASE WHEN d3 < 0.74 THEN ''
                            WHEN d3 < 0.86 THEN (ARRAY['SONALI', 'JANATA', 'AGRANI', 'DBBL', 'IBBL'])[1 + floor(d2 * 5)::int]
                                                || ' ' || lpad(floor(d * 1000000)::int::text, 6, '0')
                            ELSE 'NPSB-' || lpad(floor(d2 * 100000000)::bigint::text, 8, '0') END AS reference,
                       1 + floor(d * {len(cashiers)})::int AS cashier
                FROM demo_balance b
                JOIN registry_holding h ON h.id = b.holding_id
                CROSS JOIN LATERAL (SELECT {who} AS w, {draw} AS d,
                                           {_h(f"h.holding_id || ':{tag}:day:' || %(seed)s")} AS d2,
                                           {_h(f"h.holding_id || ':{tag}:how:' || %(seed)s")} AS d3) r
                WHERE b.balance > 0 AND {pays}
            ) p
        """, {"seed": seed, "period": period, "index": index, "issue": issue, "window": max(window, 0)})
        cursor.execute("""
            INSERT INTO tax_payment (id, holding_id, amount, method, reference, received_at, cashier_id, cashier_label,
                                     receipt_number, status, reversal_reason, gateway_reference)
            SELECT id, holding_id, amount, method, reference, received_at, (%(ids)s::bigint[])[cashier],
                   (%(labels)s::text[])[cashier], 'D-' || id, 'valid', '', ''
            FROM demo_pay
        """, {"ids": cashier_ids, "labels": cashier_labels})
        paid = cursor.rowcount
        cursor.execute("""
            INSERT INTO tax_ledgerentry (holding_id, kind, amount, fiscal_year, payment_id, at, memo)
            SELECT holding_id, 'payment', -amount, %(fy)s, id, received_at, '' FROM demo_pay
        """, {"fy": fiscal_year})
        cursor.execute("""
            INSERT INTO tax_paymentallocation (payment_id, bill_id, amount)
            SELECT p.id, o.bill_id, o.amount FROM demo_pay p JOIN demo_open o ON o.holding_id = p.holding_id
        """)
        cursor.execute("DELETE FROM demo_open o USING demo_pay p WHERE p.holding_id = o.holding_id")
        cursor.execute("UPDATE demo_balance b SET balance = 0 FROM demo_pay p WHERE p.holding_id = b.holding_id")
        cursor.execute("DROP TABLE demo_pay")
    return paid


def receipts_number() -> None:
    """Receipt numbers in the order the money came in, without gaps, and the counter after them."""
    with connection.cursor() as cursor:
        cursor.execute("""
            UPDATE tax_payment p SET receipt_number = 'R-' || lpad(n.rn::text, 8, '0')
            FROM (SELECT id, row_number() OVER (ORDER BY received_at, id) AS rn FROM tax_payment) n
            WHERE n.id = p.id
        """)
        cursor.execute("UPDATE tax_ledgerentry l SET memo = p.receipt_number FROM tax_payment p "
                       "WHERE l.payment_id = p.id AND l.kind = 'payment'")
        cursor.execute("SELECT count(*) FROM tax_payment")
        (count,) = cursor.fetchone()
    ReceiptCounter.objects.update_or_create(series=services.RECEIPT_SERIES, defaults={"last_number": count})


def extras(municipality) -> None:
    """A few records through the services, for the queues: pending adjustments and objections, a bounced
    cheque, a reassessment."""
    officer = None
    holdings = list(Holding.objects.filter(pk__in=Bill.objects.filter(fiscal_year=FISCAL_YEARS[-1], period=1)
                                           .values("holding_id")).order_by("holding_id")[:40])
    if len(holdings) < 10:
        return
    for holding, (kind, amount, reason) in zip(holdings[:3], [
            ("write_off", 1200, "Flood damage, Sept 2026: the council's relief decision"),
            ("correction", 350, "Double-counted floor on the survey"),
            ("court_settlement", 5000, "Settled in the Khulna civil court")], strict=False):
        services.adjustment_request(by=officer, holding=holding, kind=kind, amount=amount, reason=reason)
    for holding, grounds in zip(holdings[3:5], ["Ground floor vacant since March",
                                                "Annual value above the declared rent agreement"], strict=True):
        assessment = Assessment.objects.get(holding=holding, fiscal_year=FISCAL_YEARS[-1], is_current=True)
        services.objection_file(by=officer, assessment=assessment, grounds=grounds,
                                filed_on=datetime.date(2026, 10, 14))
    cheque = Payment.objects.filter(method=Payment.Method.CHEQUE, status=Payment.Status.VALID).order_by(
        "-received_at").first()
    if cheque is not None:
        services.payment_reverse(by=officer, payment=cheque, reason="Cheque returned unpaid by the bank",
                                 status=Payment.Status.DISHONOURED)


def summaries(assessed: int, totals: dict) -> None:
    AuditEntry.objects.bulk_create([
        AuditEntry(action=AuditEntry.Action.IMPORT, model=model, object_id="*", object_label=f"demo: {count:,} rows",
                   actor_label="seed_demo")
        for model, count in (("tax.assessment", assessed), ("tax.bill", totals["bills"]),
                             ("tax.payment", totals["payments"])) if count])


def demo_rate_schedules() -> list[RateSchedule]:
    return list(RateSchedule.objects.filter(fiscal_year__in=FISCAL_YEARS))
