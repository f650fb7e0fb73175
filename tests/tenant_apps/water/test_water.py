"""Water supply: the connection life cycle per role, meter readings (monotonic, meter replacement), bills from
readings and flat rates on hand-computed examples, bulk CSV readings that write nothing when a row is bad, water
bills paid through the one payment flow (counter and online), due status, audit."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.payments import payables
from imis.tenant_apps.payments.services import counter_take
from imis.tenant_apps.water import selectors, services
from imis.tenant_apps.water.models import MeterReading, WaterBill, WaterConnection, WaterPayment

from .town import YEAR, feature_switch

pytestmark = pytest.mark.django_db
D = Decimal
S = WaterConnection.Status
SEPT, OCT = datetime.date(2026, 9, 1), datetime.date(2026, 10, 1)


def read(town, connection, day, value, **kwargs):
    return services.reading_record(by=town.user("water_officer"), connection=connection, read_on=day, reading=value,
                                   **kwargs)


def test_life_cycle_with_roles(town):
    with pytest.raises(ValidationError) as refused:
        services.connection_apply(by=town.user("viewer"), holding=town.holding, applicant_name="X")
    assert refused.value.code == "forbidden"
    with pytest.raises(ValidationError) as refused:
        services.connection_apply(by=town.user("cashier"), holding=town.holding, applicant_name="X")
    assert refused.value.code == "forbidden"
    connection = town.apply(building=town.building, size_mm=20)
    assert connection.status == S.APPLIED and connection.customer_id == "WC-000001"
    assert connection.applicant_phone == "+8801712345678"
    with pytest.raises(ValidationError):  # not inspected yet
        services.connection_approve(by=town.user("water_officer"), connection=connection)
    with pytest.raises(ValidationError) as refused:
        services.connection_inspect(by=town.user("executive"), connection=connection, passed=True, notes="ok")
    assert refused.value.code == "forbidden"
    services.connection_inspect(by=town.user("water_officer"), connection=connection, passed=True, notes="20 m")
    connection = services.connection_approve(by=town.user("municipal_admin"), connection=connection)
    assert connection.status == S.APPROVED and connection.connection_fee == D("2500.00")
    with pytest.raises(ValidationError) as refused:  # the fee comes first
        services.connection_activate(by=town.user("water_officer"), connection=connection, meter_number="M-9",
                                     initial_reading=0)
    assert refused.value.code == "fee_unpaid"
    with pytest.raises(ValidationError) as refused:  # a viewer cannot take money
        counter_take(by=town.user("viewer"), holding=town.holding, items=[("water", f"fee:{connection.pk}", None)],
                     method="cash")
    [settlement] = town.pay_fee(connection)
    assert settlement.receipt_number == "WSR-00000001"
    with pytest.raises(ValidationError) as refused:
        services.connection_activate(by=town.user("water_officer"), connection=connection, meter_number="",
                                     initial_reading="")
    assert set(refused.value.message_dict) == {"meter_number", "initial_reading"}
    connection = services.connection_activate(by=town.user("water_officer"), connection=connection,
                                              meter_number="M-9", initial_reading="0")
    assert connection.status == S.ACTIVE and connection.readings.get().source == MeterReading.Source.ACTIVATION
    town.building.refresh_from_db()
    assert (town.building.water_source, town.building.water_customer_id) == ("municipal", "WC-000001")
    with pytest.raises(ValidationError):
        services.connection_disconnect(by=town.user("water_officer"), connection=connection, reason=" ")
    connection = services.connection_disconnect(by=town.user("water_officer"), connection=connection,
                                                reason="Unpaid bills")
    assert connection.status == S.DISCONNECTED and connection.disconnected_on
    connection = services.connection_reconnect(by=town.user("municipal_admin"), connection=connection)
    assert connection.status == S.ACTIVE and connection.disconnected_on is None
    assert [event.action for event in connection.events.all()] == [
        "applied", "inspected", "approved", "paid", "activated", "disconnected", "reconnected"]
    audited = AuditEntry.objects.filter(model="water.waterconnection", object_id=str(connection.pk))
    assert audited.count() == 6  # apply, inspect, approve, activate, disconnect, reconnect
    assert AuditEntry.objects.filter(model="water.waterpayment").count() == 1  # the fee


def test_failed_inspection_rejects_and_illegal_connections(town):
    rejected = services.connection_inspect(by=town.user("water_officer"), connection=town.apply(), passed=False,
                                           notes="No line in this lane")
    assert rejected.status == S.REJECTED and "lane" in rejected.closing_reason
    illegal = services.connection_report_illegal(by=town.user("water_officer"), holding=town.other_holding,
                                                 notes="Tapped into the main at night")
    assert illegal.status == S.ILLEGAL
    illegal = services.connection_disconnect(by=town.user("water_officer"), connection=illegal, reason="Illegal")
    with pytest.raises(ValidationError):  # an illegal connection is regularised by a new application
        services.connection_reconnect(by=town.user("water_officer"), connection=illegal)


def test_readings_only_go_up_unless_the_meter_is_replaced(town):
    connection = town.active()
    read(town, connection, datetime.date(2026, 9, 10), "108")
    with pytest.raises(ValidationError) as refused:
        read(town, connection, datetime.date(2026, 9, 20), "90")
    assert "reading" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        read(town, connection, datetime.date(2026, 9, 5), "120")  # before the last reading
    assert "read_on" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        read(town, connection, datetime.date(2026, 9, 20), "0", is_replacement=True)  # which new meter?
    assert "meter_number" in refused.value.message_dict
    read(town, connection, datetime.date(2026, 9, 20), "0", is_replacement=True, meter_number="M-2")
    connection.refresh_from_db()
    assert connection.meter_number == "M-2" and connection.readings.count() == 3
    flat = town.active(is_metered=False, holding=town.other_holding)
    with pytest.raises(ValidationError):
        read(town, flat, datetime.date(2026, 9, 20), "5")


def test_slab_charge_by_hand():
    slabs = services.parse_slabs("10:8, 20:10.5, :15")
    assert slabs == [["10", "8.00"], ["20", "10.50"], [None, "15.00"]]
    assert services.slab_charge(D("0"), slabs) == D("0.00")
    assert services.slab_charge(D("7"), slabs) == D("56.00")  # 7 × 8
    assert services.slab_charge(D("25"), slabs) == D("260.00")  # 10 × 8 + 10 × 10.5 + 5 × 15
    assert services.slab_charge(D("17"), slabs) == D("153.50")  # 10 × 8 + 7 × 10.5
    for bad in ("", "10:8, :9, 30:10", "20:8, 10:9", "ten:8"):
        with pytest.raises(ValidationError):
            services.parse_slabs(bad)


def test_bills_from_readings_and_flat_rate_by_hand(town):
    metered = town.active()  # 100 m³ at connection on 25 Aug
    flat = town.active(is_metered=False, holding=town.other_holding)
    read(town, metered, datetime.date(2026, 9, 10), "108")
    read(town, metered, datetime.date(2026, 9, 30), "125")  # September: 25 m³
    read(town, metered, datetime.date(2026, 10, 4), "130")  # old meter's last reading: +5
    read(town, metered, datetime.date(2026, 10, 5), "0", is_replacement=True, meter_number="M-2")
    read(town, metered, datetime.date(2026, 10, 31), "12")  # new meter: +12 → October 17 m³
    with pytest.raises(ValidationError) as refused:
        services.bills_generate(by=town.user("cashier"), period=SEPT)
    assert refused.value.code == "forbidden"
    result = services.bills_generate(by=town.user("water_officer"), period=SEPT)
    assert (result["bills"], result["total"]) == (2, D("560.00"))
    september = WaterBill.objects.get(connection=metered, period=SEPT)
    assert (september.consumption, september.amount, september.number) == (D("25.00"), D("260.00"),
                                                                           "WB-202609-WC-000001")
    assert september.due_date == datetime.date(2026, 10, 20) and september.fiscal_year == YEAR
    assert WaterBill.objects.get(connection=flat, period=SEPT).amount == D("300.00")
    assert services.bills_generate(by=None, period=SEPT)["bills"] == 0  # a re-run bills nobody twice
    services.bills_generate(by=None, period=OCT)
    october = WaterBill.objects.get(connection=metered, period=OCT)
    assert (october.consumption, october.amount) == (D("17.00"), D("153.50"))
    august = services.bills_generate(by=None, period=datetime.date(2026, 8, 1))
    assert august["bills"] == 2  # both connected on 25 Aug: flat 300, metered nothing used yet (settled)
    assert WaterBill.objects.get(connection=metered, period=datetime.date(2026, 8, 1)).status == "paid"
    with pytest.raises(ValidationError) as refused:
        services.bills_generate(by=None, period=datetime.date(2025, 6, 1))
    assert refused.value.code == "no_tariff"
    with pytest.raises(ValidationError) as refused:
        services.bills_generate(by=None, period=datetime.date.today())
    assert refused.value.code == "month_not_over"


def test_bulk_readings_all_or_nothing(town):
    first = town.active()
    second = town.active(holding=town.other_holding)
    bad = ("customer_id,read_on,reading,meter_replaced,meter_number\n"
           f"{first.customer_id},2026-09-30,125,,\n"
           f"{second.customer_id},2026-09-30,90,,\n"  # below 100 at connection
           "WC-999999,2026-09-30,10,,\n"
           f"{first.customer_id},30/10/2026,130,,\n"
           f"{first.customer_id},2026-10-15,120,,\n"  # below the row above (125)
           f"{second.customer_id},2026-10-15,0,yes,\n")  # a new meter without its number
    with pytest.raises(services.ReadingsRejected) as rejected:
        services.readings_import(by=town.user("water_officer"), content=bad.encode())
    assert [(r["row"], r["field"]) for r in rejected.value.rejects] == [
        (3, "reading"), (4, "customer_id"), (5, "read_on"), (6, "reading"), (7, "meter_number")]
    assert MeterReading.objects.filter(source=MeterReading.Source.CSV).count() == 0
    with pytest.raises(ValidationError) as refused:
        services.readings_import(by=town.user("water_officer"), content=b"customer,date\nx,y\n")
    assert refused.value.code == "missing_columns"
    good = ("\ufeffcustomer_id,read_on,reading,meter_replaced,meter_number\n"
            f"{first.customer_id},2026-09-30,125,,\n"
            f"{second.customer_id},2026-09-30,110,,\n"
            f"{second.customer_id},2026-10-15,0,yes,M-77\n")
    result = services.readings_import(by=town.user("water_officer"), content=good.encode())
    assert result.recorded == 3 and not result.rejects
    second.refresh_from_db()
    assert second.meter_number == "M-77"
    assert AuditEntry.objects.filter(model="water.meterreading", action="import").count() == 3
    with pytest.raises(ValidationError) as refused:
        services.readings_import(by=town.user("viewer"), content=good.encode())
    assert refused.value.code == "forbidden"


def test_a_water_bill_is_paid_at_the_counter_once_and_the_due_status_follows(town):
    metered = town.active()
    read(town, metered, datetime.date(2026, 9, 30), "125")
    services.bills_generate(by=None, period=SEPT)
    bill = WaterBill.objects.get(connection=metered, period=SEPT)
    listed = selectors.connections_listed().get(pk=metered.pk)
    assert listed.bills_due == D("260.00") and selectors.due_status(listed) == "overdue"  # due 20 Oct 2026
    dues = [due for due in payables.holding_dues(town.holding) if due.kind == "water"]
    assert [(due.reference, due.amount) for due in dues] == [(f"bill:{bill.pk}", D("260.00"))]
    assert "September 2026" in dues[0].title and "25.00 m³" in dues[0].detail
    with pytest.raises(ValidationError):  # the whole bill or nothing
        counter_take(by=town.user("cashier"), holding=town.holding, items=[("water", f"bill:{bill.pk}", "100")],
                     method="cash")
    with pytest.raises(ValidationError):  # another holding's due
        counter_take(by=town.user("cashier"), holding=town.other_holding,
                     items=[("water", f"bill:{bill.pk}", None)], method="cash")
    [settlement] = counter_take(by=town.user("water_officer"), holding=town.holding,
                                items=[("water", f"bill:{bill.pk}", None)], method="cheque", reference="DBBL 12")
    bill.refresh_from_db()
    payment = WaterPayment.objects.get(receipt_number=settlement.receipt_number)
    assert bill.status == "paid" and payment.bill == bill and payment.amount == D("260.00")
    listed = selectors.connections_listed().get(pk=metered.pk)
    assert listed.bills_due == 0 and selectors.due_status(listed) == "clear"
    payable = payables.payable_for("water")
    assert payable.due(f"bill:{bill.pk}") is None
    with pytest.raises(payables.AlreadySettled):
        payable.settle(reference=f"bill:{bill.pk}", amount=D("260.00"), method="cash", by=None)
    assert [row.number for row in payables.holding_receipts(town.holding) if row.kind == "water"] == [
        settlement.receipt_number, "WSR-00000001"]
    assert payables.receipt_verify(settlement.receipt_number)["service"] == bill.number
    payable.reverse(receipt_number=settlement.receipt_number, reason="cheque bounced", by=None)
    bill.refresh_from_db()
    assert bill.status == "issued" and payable.due(f"bill:{bill.pk}").amount == D("260.00")


def test_water_dues_are_not_offered_without_the_feature(town, world):
    connection = town.approved()
    assert [due.reference for due in payables.holding_dues(town.holding, world.khulna) if due.kind == "water"] == [
        f"fee:{connection.pk}"]
    feature_switch(world.khulna, False)
    with tenant_context(world.khulna):
        assert all(due.kind != "water" for due in payables.holding_dues(town.holding, world.khulna))
