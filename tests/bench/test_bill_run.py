"""Holding tax at real scale (SEED_SCALE, default 1: Khulna's 156,052 buildings, ~135k holdings).

1. The yearly bill run for every holding (services.bill_run_execute: chunked, committed per chunk, bills + ledger
   entries + audit entries) against a single INSERT … SELECT computing the same amounts into a bare table in the
   same run (the floor). Target: within 3×.
2. Bulk demand notices for one ward as one PDF (Chromium print-to-PDF, one browser): pages per second, English and
   Bangla; WeasyPrint on the same HTML for comparison when it is installed.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from imis.shared_apps.tenants.demo import demo_figures
from imis.shared_apps.tenants.models import Municipality
from imis.shared_apps.tenants.services import municipality_create
from imis.tenant_apps.registry.demo import demo_city
from imis.tenant_apps.tax import pdf, services
from imis.tenant_apps.tax.models import Bill, LedgerEntry

pytestmark = pytest.mark.bench
SCALE = float(os.environ.get("SEED_SCALE", "1"))
SEED = 42
FY = 2026
SLUG = "bench_tax"
KHULNA = next(city for city in demo_figures() if city["slug"] == "khulna")
HEADS = {"holding_tax": Decimal(7), "conservancy": Decimal(7), "lighting": Decimal(3), "water": Decimal(3)}
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "bench"

# The same arithmetic as services.bill_chunk_sql (heads rounded per head, the last instalment takes the rounding
# remainder, arrears = a positive balance, surcharge on arrears), for every holding in one statement, into a bare
# table: no constraints, no indexes, no ledger, no audit — the floor a bill run can be compared with.
BASELINE_SQL = """
INSERT INTO bench_bill (holding_id, fiscal_year, period, number, issue_date, due_date, annual_value, current_amount,
                        heads, arrears, surcharge, total_payable)
SELECT c.holding_id, %(fy)s, %(period)s, 'HT' || %(fy)s || '-' || %(period)s || '-' || c.holding_code, %(issue)s,
       %(due)s, c.annual_value, heads.total, heads.shares, GREATEST(c.balance, 0),
       CASE WHEN c.balance > 0 THEN round(c.balance * %(surcharge_pct)s / 100, 2) ELSE 0 END,
       GREATEST(c.balance, 0) + CASE WHEN c.balance > 0 THEN round(c.balance * %(surcharge_pct)s / 100, 2) ELSE 0 END
       + heads.total
FROM (
    SELECT h.id AS holding_id, h.holding_id AS holding_code, a.annual_value,
           COALESCE((SELECT sum(l.amount) FROM tax_ledgerentry l WHERE l.holding_id = h.id), 0) AS balance
    FROM registry_holding h
    JOIN tax_assessment a ON a.holding_id = h.id AND a.fiscal_year = %(fy)s AND a.is_current AND a.exemption = ''
) c
CROSS JOIN LATERAL (
    SELECT jsonb_object_agg(code, share) AS shares, sum(share) AS total FROM (
        SELECT code, CASE WHEN %(period)s = %(n)s
                          THEN round(c.annual_value * pct / 100, 2) - round(round(c.annual_value * pct / 100, 2)
                               / %(n)s, 2) * (%(n)s - 1)
                          ELSE round(round(c.annual_value * pct / 100, 2) / %(n)s, 2) END AS share
        FROM unnest(%(codes)s::text[], %(percents)s::numeric[]) AS head(code, pct)
    ) per_head
) heads
"""


@pytest.fixture
def city(bench_db):
    connection.set_schema_to_public()
    for leftover in Municipality.objects.filter(slug=SLUG):
        leftover.delete()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{SLUG}" CASCADE')
    municipality = municipality_create(slug=SLUG, name="Bench Khulna tax", name_bn="খুলনা সিটি কর্পোরেশন",
                                       features=["holding_tax"], domain=f"{SLUG}.localhost")
    connection.set_tenant(municipality)
    try:
        demo_city(municipality=municipality, figures=KHULNA, scale=SCALE, seed=SEED, log=lambda _line: None)
        assess_everyone()
        yield municipality
    finally:
        connection.set_schema_to_public()
        municipality.delete()


def assess_everyone() -> None:
    """One current assessment per holding for the year: annual values from 12,000 to ~1,50,000 (deterministic)."""
    services.rate_schedule_set(by=None, fiscal_year=FY, effective_from=datetime.date(FY, 7, 1), heads=HEADS,
                               surcharge_percent=5, rebate_percent=10, instalments=1)
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO tax_assessment (holding_id, fiscal_year, basis, monthly_rent, annual_value, exemption,
                                        exemption_reason, version, is_current, reason, created, functional_use)
            SELECT id, %s, 'rent', 1200 + (id * 7919 %% 13800), (1200 + (id * 7919 %% 13800)) * 10,
                   CASE WHEN id %% 97 = 0 THEN 'religious' ELSE '' END, '', 1, true, '', now(), ''
            FROM registry_holding
        """, [FY])
        cursor.execute("ANALYZE tax_assessment")


def baseline_seconds(params: dict) -> tuple[float, int, Decimal]:
    return insert_select_seconds(params, "UNLOGGED", "INCLUDING IDENTITY INCLUDING DEFAULTS")


def insert_select_seconds(params: dict, kind: str, including: str) -> tuple[float, int, Decimal]:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE {kind} TABLE bench_bill (LIKE tax_bill {including})")
        try:
            started = time.perf_counter()
            cursor.execute(BASELINE_SQL, params)
            seconds = time.perf_counter() - started
            cursor.execute("SELECT count(*), sum(total_payable) FROM bench_bill")
            rows, total = cursor.fetchone()
        finally:
            cursor.execute("DROP TABLE bench_bill")
    return seconds, rows, total


def bills_reset() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE tax_paymentallocation, tax_ledgerentry, tax_bill CASCADE")
        cursor.execute("DELETE FROM audit_auditentry WHERE model = 'tax.bill'")


def chunk_plan() -> str:
    """EXPLAIN ANALYZE of two 5,000-holding chunks of the bill run (the first and one half-way: a keyset chunk
    should cost the same wherever it starts), in a transaction rolled back."""
    from django.db import transaction

    from imis.tenant_apps.tax.models import BillRun

    schedule = services.rate_schedule_for(FY)
    heads = list(schedule.heads.all())
    sql = services.bill_chunk_sql(heads=len(heads), last_instalment=schedule.instalments == 1, ward=False)
    run = BillRun.objects.create(fiscal_year=FY, period=1)
    params = services.bill_chunk_params(schedule=schedule, heads=heads, fiscal_year=FY, period=1, ward_number=None,
                                        run=run, by=None, chunk=5000)
    bills_reset()
    with connection.cursor() as cursor:
        cursor.execute("SELECT holding_id FROM tax_assessment WHERE fiscal_year = %s AND is_current "
                       "ORDER BY holding_id OFFSET (SELECT count(*) / 2 FROM tax_assessment) LIMIT 1", [FY])
        half_way = cursor.fetchone()[0]
    lines = []
    for after in (0, half_way):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql,
                               {**params, "after": after, "now": datetime.datetime.now(datetime.UTC)})
                lines += [f"-- chunk after holding {after}", *(row[0] for row in cursor.fetchall()), ""]
                raise _Rollback
        except _Rollback:
            pass
    return "\n".join(lines)


class _Rollback(Exception):
    pass


def test_yearly_bill_run_against_one_insert_select(city, report):
    holdings = services.bill_run_holdings_count(fiscal_year=FY)
    schedule = services.rate_schedule_for(FY)
    heads = list(schedule.heads.all())
    params = {"fy": FY, "period": 1, "n": schedule.instalments, "issue": datetime.date.today(),
              "due": services.period_due_date(FY, 1, schedule.instalments), "surcharge_pct": schedule.surcharge_percent,
              "codes": [h.code for h in heads], "percents": [h.percent for h in heads]}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM registry_holding")  # warm the same pages for both
    first, rows, baseline_total = baseline_seconds(params)
    # the same INSERT … SELECT into a table like tax_bill with its indexes and constraints, logged
    like_for_like, _rows, _total = insert_select_seconds(params, "", "INCLUDING ALL")
    started = time.perf_counter()
    run = services.bill_run_execute(by=None, fiscal_year=FY, period=1)
    seconds = time.perf_counter() - started
    second, _rows, _total = baseline_seconds(params)
    baseline = min(first, second)
    billed = Bill.objects.filter(fiscal_year=FY).values_list("total_payable", flat=True)
    assert run.bills_created == holdings == rows
    assert sum(billed, Decimal(0)) == baseline_total  # the same amounts
    assert LedgerEntry.objects.count() == holdings
    plan = chunk_plan()
    # the same statement (bills + ledger + audit) for everyone at once: what chunking costs
    bills_reset()
    started = time.perf_counter()
    services.bill_run_execute(by=None, fiscal_year=FY, period=1, chunk=10_000_000)
    single = time.perf_counter() - started
    label = f"yearly bill run, {holdings:,} holdings (scale {SCALE:g})"
    report.add(f"{label}: bill_run_execute (bills + ledger + audit, chunks of 5,000)", seconds, "s",
               baseline_name="one INSERT … SELECT of the bills, bare table", baseline_figure=baseline)
    report.add(f"{label}: bill_run_execute (bills + ledger + audit, chunks of 5,000)", seconds, "s",
               baseline_name="one INSERT … SELECT into a tax_bill copy with its indexes",
               baseline_figure=like_for_like)
    report.add(f"{label}: bill_run_execute in one chunk (same writes, one statement)", single, "s",
               baseline_name="one INSERT … SELECT of the bills, bare table", baseline_figure=baseline)
    report.add(f"{label}: bills per second", holdings / seconds, "bills/s",
               baseline_name="one INSERT … SELECT", baseline_figure=holdings / baseline, higher_is_better=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "bill-run-chunk-plan.txt").write_text(plan)
    ratio = seconds / like_for_like
    if ratio >= 3 and SCALE >= 0.2:
        print(f"\nbill run {seconds:.1f}s is {ratio:.1f}x the INSERT … SELECT into tax_bill's twin "
              f"({like_for_like:.1f}s; bare {baseline:.1f}s); one chunk {single:.1f}s; "
              f"plan of a chunk in artifacts/bench/bill-run-chunk-plan.txt")
    selectors_timed(report, holdings)

    # the ward with the most bills, as one PDF
    with connection.cursor() as cursor:
        cursor.execute("""SELECT w.number, count(*) FROM tax_bill b JOIN registry_holding h ON h.id = b.holding_id
                          JOIN registry_ward w ON w.id = h.ward_id GROUP BY w.number ORDER BY 2 DESC LIMIT 1""")
        ward, bills = cursor.fetchone()
    for language in ("en", "bn"):
        started = time.perf_counter()
        content, pages = pdf.ward_notices_pdf(fiscal_year=FY, period=1, ward_number=ward, municipality=city,
                                              language=language, root="https://bench-tax.example")
        seconds = time.perf_counter() - started
        (ARTIFACTS / f"notices-ward-{ward}-{language}.pdf").write_bytes(content)
        assert pages == bills
        report.add(f"ward {ward} notices, {pages:,} pages, {language}: Chromium, one PDF (parts of "
                   f"{pdf.BULK_PAGES} joined)", pages / seconds, "pages/s", higher_is_better=True)
    weasyprint_compare(city, ward, report)
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(ARTIFACTS / f"notices-ward-{ward}-bn.pdf")], capture_output=True,
                              text=True).stdout
        assert re.search(rf"Pages:\s+{bills}\n", info)


def weasyprint_compare(city, ward: int, report, pages: int = 200) -> None:
    """The same notice HTML (first 200 of the ward) through Chromium and, when installed, WeasyPrint."""
    bills = list(pdf.ward_bills(fiscal_year=FY, period=1, ward_number=ward)[:pages])
    html = pdf._document("notice", municipality=city, language="bn", title="bench",
                         pages=pdf.notice_pages(bills, municipality=city, language="bn", root="https://bench.example"))
    engines = {"chromium": None}
    try:
        import weasyprint

        engines["weasyprint"] = weasyprint
    except ImportError:
        pass
    for engine, module in engines.items():
        if module is None:
            with pdf.chromium_pdf() as renderer:
                started = time.perf_counter()
                content = renderer.render(html)
        else:
            started = time.perf_counter()
            content = module.HTML(string=html).write_pdf()
        seconds = time.perf_counter() - started
        path = ARTIFACTS / f"notices-{engine}-bn-{len(bills)}.pdf"
        path.write_bytes(content)
        text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
        extracts = "হোল্ডিং কর ডিমান্ড নোটিশ" in text and "সড়কবাতি রেইট" in text
        report.add(f"{len(bills)} notices, bn, {engine}: Bangla text extracts right = {extracts}",
                   len(bills) / seconds, "pages/s", higher_is_better=True)


def selectors_timed(report, holdings: int) -> None:
    """The due-status reads over every holding (worst case: all owe), each with a cold cache."""
    from django.core.cache import cache

    from imis.tenant_apps.tax import selectors

    def timed(name, call):
        cache.clear()
        started = time.perf_counter()
        call()
        report.add(f"{holdings:,} holdings: {name}", (time.perf_counter() - started) * 1000, "ms")

    every = selectors.DueFilter()
    timed("due status, city: count + first page of 50", lambda: (selectors.due_status_count(every),
                                                                 selectors.due_status_rows(every, limit=50)))
    timed("due status, one ward: count + first page", lambda: (selectors.due_status_count(
        selectors.DueFilter(ward=1)), selectors.due_status_rows(selectors.DueFilter(ward=1), limit=50)))
    timed("due summary by years due (home page)", lambda: selectors.due_status_summary())
    timed("tax home totals", lambda: selectors.tax_totals(FY))
    timed("collection by ward", lambda: selectors.collection_by_ward(FY))
    timed("years due of every holding (map data)", lambda: selectors.holdings_years_due())
    holding = Bill.objects.order_by("id").first().holding
    timed("one holding's statement", lambda: selectors.holding_statement(holding))
    with connection.cursor() as cursor:
        join = selectors.holding_years_due_join("t.holding_id")
        sql = (f"SELECT count(*), sum(tax_due.years_due) FROM (SELECT * FROM registry_building ORDER BY id "
               f"LIMIT 5000) t {join}")
        started = time.perf_counter()
        cursor.execute(sql)
        report.add("tile-sized: years due of 5,000 buildings via holding_years_due_join",
                   (time.perf_counter() - started) * 1000, "ms")
