"""Holding tax on hand-computed examples: assessment, heads, instalments, arrears, surcharge, rebate, payments."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone
from django_tenants.utils import tenant_context

from imis.tenant_apps.tax import services as tax
from imis.tenant_apps.tax.models import Assessment, Bill, LedgerEntry, Payment

from .conftest import FY

pytestmark = pytest.mark.django_db
D = Decimal


def test_annual_value_from_rent_and_from_floor_area(town):
    # 1,000 a month: 12 months less 2 for repairs = 10,000
    assert town.holdings[0].assessments.get().annual_value == D("10000.00")
    value = tax.assessment_annual_value(basis="owner_occupied", fiscal_year=FY, floor_area_m2=D("85.5"),
                                        functional_use="residential", zone=town.zone)
    assert value == D("15390.00")  # 85.5 m² × 120 × 1.5
    with pytest.raises(ValidationError) as error:
        tax.assessment_annual_value(basis="owner_occupied", fiscal_year=FY, floor_area_m2=10,
                                    functional_use="industrial")
    assert error.value.code == "no_use_rate"


def test_heads_and_instalments_add_up_to_the_year_exactly(town):
    # annual value 10,000.10 → holding tax 7 % = 700.01 → 175.00 × 3 + 175.01
    shares = [tax.period_charges(D("10000.10"), town.schedule, period)["holding_tax"] for period in (1, 2, 3, 4)]
    assert shares == [D("175.00"), D("175.00"), D("175.00"), D("175.01")]
    assert sum(tax.annual_charges(D("10000"), town.schedule).values()) == D("2000.00")


def test_reassessment_keeps_history_and_needs_a_reason(town):
    holding = town.holdings[0]
    with pytest.raises(ValidationError):
        tax.assessment_create(by=None, holding=holding, fiscal_year=FY, basis="rent", monthly_rent=1500)
    new = tax.assessment_create(by=None, holding=holding, fiscal_year=FY, basis="rent", monthly_rent=1500,
                                reason="New tenant")
    assert new.version == 2 and new.replaces.annual_value == D("10000.00") and new.annual_value == D("15000.00")
    assert Assessment.objects.filter(holding=holding, is_current=True).get() == new


def test_objection_upheld_reassesses(town):
    assessment = town.holdings[1].assessments.get()
    objection = tax.objection_file(by=None, assessment=assessment, grounds="Half the building is vacant")
    tax.objection_decide(by=town.user("municipal_admin"), objection=objection, upheld=True,
                         decision="Vacancy verified", revised_annual_value=12000)
    current = Assessment.objects.get(holding=town.holdings[1], is_current=True)
    assert current.annual_value == D("12000.00") and current.version == 2


def test_exempt_holdings_are_not_billed(town):
    tax.assessment_create(by=None, holding=town.holdings[0], fiscal_year=FY, basis="rent", monthly_rent=1000,
                          exemption="religious", reason="Mosque")
    run = tax.bill_run_execute(by=town.user("tax_officer"), fiscal_year=FY, period=1)
    assert run.bills_created == 3
    assert not Bill.objects.filter(holding=town.holdings[0]).exists()
    with pytest.raises(ValidationError):
        tax.assessment_create(by=None, holding=town.holdings[1], fiscal_year=FY, basis="rent", monthly_rent=1,
                              exemption="other", reason="x")


def test_bill_run_charges_the_quarter_and_is_idempotent(town):
    officer = town.user("tax_officer")
    first = tax.bill_run_execute(by=officer, fiscal_year=FY, period=1)
    again = tax.bill_run_execute(by=officer, fiscal_year=FY, period=1)
    assert (first.bills_created, again.bills_created) == (4, 0)
    bill = Bill.objects.get(holding=town.holdings[0], period=1)
    assert bill.current_amount == D("500.00")  # 10,000 × 20 % ÷ 4
    assert bill.heads == {"holding_tax": 175.0, "conservancy": 175.0, "lighting": 75.0, "water": 75.0}
    assert bill.due_date == datetime.date(2026, 9, 30) and bill.number == "HT2026-1-1-0010-00001"
    assert tax.holding_balance(town.holdings[0]) == D("500.00")


def test_arrears_carry_forward_with_surcharge(town):
    officer = town.user("tax_officer")
    tax.bill_run_execute(by=officer, fiscal_year=FY, period=1)
    tax.payment_record(by=town.user("cashier"), holding=town.holdings[0], amount=200, method="cash")
    tax.bill_run_execute(by=officer, fiscal_year=FY, period=2)
    bill = Bill.objects.get(holding=town.holdings[0], period=2)
    assert bill.arrears == D("300.00") and bill.surcharge == D("15.00")  # 5 % of 300
    assert bill.total_payable == D("815.00")
    assert tax.holding_balance(town.holdings[0]) == D("815.00")


def test_payment_goes_to_the_oldest_due_first(town):
    officer = town.user("tax_officer")
    for period in (1, 2):
        tax.bill_run_execute(by=officer, fiscal_year=FY, period=period)
    payment = tax.payment_record(by=town.user("cashier"), holding=town.holdings[0], amount=700, method="cash")
    allocations = [(a.bill.period, a.amount) for a in payment.allocations.select_related("bill").order_by("bill__period")]
    assert allocations == [(1, D("500.00")), (2, D("200.00"))]
    over = tax.payment_record(by=town.user("cashier"), holding=town.holdings[0], amount=900, method="cash")
    assert [(a.bill.period if a.bill else None, a.amount) for a in over.allocations.order_by("id")] == [
        (2, D("325.00")), (None, D("575.00"))]  # period 2 = 500 + 25 surcharge on 500 of arrears
    assert tax.holding_balance(town.holdings[0]) == D("-575.00")


def test_rebate_for_paying_the_whole_year_before_the_first_due_date(town):
    received = timezone.make_aware(datetime.datetime(2026, 8, 10, 11, 0))
    payment = tax.payment_record(by=town.user("cashier"), holding=town.holdings[1], amount=D("3600"),
                                 method="cash", received_at=received)  # year = 4,000; rebate 10 % = 400
    rebate = LedgerEntry.objects.get(payment=payment, kind="rebate")
    assert rebate.amount == D("-400.00")
    late = tax.payment_record(by=town.user("cashier"), holding=town.holdings[3], amount=D("7200"), method="cash",
                              received_at=timezone.make_aware(datetime.datetime(2026, 10, 2, 11, 0)))
    assert not LedgerEntry.objects.filter(payment=late, kind="rebate").exists()


def test_reversal_restores_the_due_and_the_receipt_stays(town):
    tax.bill_run_execute(by=town.user("tax_officer"), fiscal_year=FY, period=1)
    cheque = tax.payment_record(by=town.user("cashier"), holding=town.holdings[0], amount=500, method="cheque",
                                reference="SONALI 448812")
    assert tax.holding_balance(town.holdings[0]) == 0
    tax.payment_reverse(by=town.user("cashier"), payment=cheque, reason="Cheque bounced", status="dishonoured")
    assert tax.holding_balance(town.holdings[0]) == D("500.00")
    assert Payment.objects.get(pk=cheque.pk).status == "dishonoured"
    with pytest.raises(ValidationError) as error:
        tax.payment_reverse(by=town.user("cashier"), payment=cheque, reason="again")
    assert error.value.code == "already_reversed"
    retry = tax.payment_record(by=town.user("cashier"), holding=town.holdings[0], amount=500, method="cash")
    assert retry.allocations.get().bill.period == 1  # the bill is open again


def test_adjustment_needs_a_reason_and_another_persons_approval(town):
    tax.bill_run_execute(by=town.user("tax_officer"), fiscal_year=FY, period=1)
    with pytest.raises(ValidationError):
        tax.adjustment_request(by=town.user("tax_officer"), holding=town.holdings[0], kind="write_off", amount=100,
                               reason=" ")
    adjustment = tax.adjustment_request(by=town.user("tax_officer"), holding=town.holdings[0], kind="write_off",
                                        amount=100, reason="Flood damage relief")
    with pytest.raises(ValidationError) as error:
        tax.adjustment_decide(by=town.user("tax_officer"), adjustment=adjustment, approve=True)
    assert error.value.code == "forbidden"
    tax.adjustment_decide(by=town.user("municipal_admin"), adjustment=adjustment, approve=True)
    assert tax.holding_balance(town.holdings[0]) == D("400.00")


def test_cashier_cannot_bill_and_viewer_cannot_collect(town):
    with pytest.raises(ValidationError):
        tax.bill_run_execute(by=town.user("cashier"), fiscal_year=FY, period=1)
    with pytest.raises(ValidationError):
        tax.payment_record(by=town.user("viewer"), holding=town.holdings[0], amount=10, method="cash")


def test_receipt_numbers_follow_each_other(town):
    numbers = [tax.payment_record(by=town.user("cashier"), holding=h, amount=10, method="cash").receipt_number
               for h in town.holdings]
    assert numbers == [f"R-{n:08d}" for n in range(1, 5)]


def test_ledger_invariant(town):
    officer, cashier = town.user("tax_officer"), town.user("cashier")
    tax.bill_run_execute(by=officer, fiscal_year=FY, period=1)
    tax.payment_record(by=cashier, holding=town.holdings[0], amount=300, method="cash")
    billed = Bill.objects.aggregate(total=Sum("current_amount"))["total"] + Bill.objects.aggregate(
        total=Sum("surcharge"))["total"]
    entries = LedgerEntry.objects.aggregate(total=Sum("amount"))["total"]
    assert entries == billed - D("300")


def test_tax_rows_stay_in_their_municipality(town):
    tax.bill_run_execute(by=town.user("tax_officer"), fiscal_year=FY, period=1)
    with tenant_context(town.world.jhenaidah):
        assert Bill.objects.count() == 0 and LedgerEntry.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_bill_run_job_runs_through_the_worker_with_progress(tworld):
    from celery.contrib.testing.worker import start_worker

    from imis import celery_app
    from imis.tenant_apps.jobs.models import Job
    from imis.tenant_apps.jobs.services import job_create, job_progress_of
    from imis.tenant_apps.tax.tasks import bill_run_task

    from .conftest import Town

    with tenant_context(tworld.khulna):
        Town(tworld, holdings=5)
        job = job_create(kind="bill_run", title="Bills 2026-27 Q1", idempotency_key="2026-1")
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING",
                      queues=[celery_app.conf.task_default_queue]):
        with tenant_context(tworld.khulna):
            result = bill_run_task.delay(str(job.pk), FY, 1, None, tworld.user("tax_officer", "khulna").pk)
        assert result.get(timeout=60)["bills_created"] == 5
    with tenant_context(tworld.khulna):
        job = Job.objects.get(pk=job.pk)
        assert job.status == "succeeded" and job_progress_of(job)["percent"] == 100
        assert Bill.objects.count() == 5


def test_bill_run_writes_one_audit_entry_per_chunk_naming_its_bills(town):
    from imis.tenant_apps.audit.models import AuditEntry

    officer = town.user("tax_officer")
    run = tax.bill_run_execute(by=officer, fiscal_year=FY, period=1, chunk=3)
    entries = list(AuditEntry.objects.filter(model="tax.bill").order_by("id"))
    assert [entry.after["count"] for entry in entries] == [3, 1]
    assert sorted(i for entry in entries for i in entry.after["bills"]) == sorted(Bill.objects.values_list("id", flat=True))
    assert {(e.object_id, e.action, e.actor_label, e.after["bill_run"]) for e in entries} == {
        ("*", "create", officer.email, run.pk)}
    assert len({entry.batch for entry in entries}) == 1 and entries[0].batch is not None
    assert D(str(sum(entry.after["amount"] for entry in entries))) == Bill.objects.aggregate(
        total=Sum("current_amount"))["total"]
    assert entries[0].object_label.startswith(f"bill run {run.pk}, bills: 3: HT2026-1-")
    tax.bill_run_execute(by=officer, fiscal_year=FY, period=1, chunk=3)  # nothing left to bill: nothing audited
    assert AuditEntry.objects.filter(model="tax.bill").count() == 2


@pytest.mark.parametrize("chunk", [1, 3, 5000])
def test_bill_run_amounts_match_the_schedule_for_every_instalment_and_chunk_size(town, chunk):
    """The set-based chunk statement against services.period_charges, with arrears and surcharge carried
    across chunk boundaries (payments on some holdings, none on others) and a ward-only run in between."""
    officer, cashier = town.user("tax_officer"), town.user("cashier")
    schedule = tax.rate_schedule_for(FY)
    ward2 = tax.bill_run_execute(by=officer, fiscal_year=FY, period=1, ward_number=2, chunk=chunk)
    assert ward2.bills_created == 2 and set(Bill.objects.values_list("holding__ward__number", flat=True)) == {2}
    assert tax.bill_run_execute(by=officer, fiscal_year=FY, period=1, chunk=chunk).bills_created == 2
    tax.payment_record(by=cashier, holding=town.holdings[1], amount=D("333.33"), method="cash")
    for period in (2, 3, 4):
        balances = {h.pk: tax.holding_balance(h) for h in town.holdings}
        run = tax.bill_run_execute(by=officer, fiscal_year=FY, period=period, chunk=chunk)
        assert run.bills_created == 4
        for holding in town.holdings:
            bill = Bill.objects.get(holding=holding, fiscal_year=FY, period=period)
            shares = tax.period_charges(holding.assessments.get(is_current=True).annual_value, schedule, period)
            arrears = max(balances[holding.pk], D(0))
            surcharge = tax.money(arrears * schedule.surcharge_percent / 100)
            assert {code: D(str(value)) for code, value in bill.heads.items()} == shares
            assert (bill.current_amount, bill.arrears, bill.surcharge) == (sum(shares.values()), arrears, surcharge)
            assert bill.total_payable == arrears + surcharge + bill.current_amount
            assert tax.holding_balance(holding) == balances[holding.pk] + surcharge + bill.current_amount
    assert LedgerEntry.objects.filter(kind="bill").count() == Bill.objects.count() == 16
