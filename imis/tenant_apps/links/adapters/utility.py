"""Water utility customers in: the utility's customer ID, name, connection status, payment status and arrears,
from a dropped CSV file or an HTTP endpoint answering JSON (a list of objects, or {"customers": [...]} /
{"results": [...]} / {"data": [...]}), with an optional token header.

Each record is matched to IMIS by customer ID: the water connection's customer ID (water supply) and the
building's recorded water customer ID (registry), case-insensitively. The run's report: matched, unmatched (in
the source, not in IMIS), duplicates (one ID more than once in the source: none of its records is applied) and
rows that could not be read. A sync never waits for a person, so bad rows are reported and left out while the
rest is applied — in one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imis.tenant_apps.jobs.services import job_progress
from imis.tenant_apps.registry.models import Building
from imis.tenant_apps.water.models import WaterConnection

from ..errors import LinkError
from ..models import UtilityAccount
from .base import Adapter, http_get_json
from .tabular import Problems, Table, apply_aliases, normalise, parse_decimal, table_read

ALIASES = {"customer_id": ("customer_no", "customer_number", "account_no", "account_number", "consumer_no", "id"),
           "customer_name": ("name", "customer"), "connection_status": ("status", "connection"),
           "payment_status": ("payment",), "arrears": ("arrear", "due", "outstanding", "balance")}
LIST_KEYS = ("customers", "results", "data", "items")
REPORT_LIST_MAX = 500


class UtilityAdapter(Adapter):
    kind = "utility"
    title = gettext_lazy("Water utility customers")
    summary = gettext_lazy("The utility's customers (status, payment, arrears) matched to buildings and water "
                           "connections by customer ID.")
    icon = "bi-droplet-half"

    def source_of(self, link) -> str:
        return link.options.get("source") or ("http" if link.endpoint_url else "file")

    def config_problems(self, link) -> list[str]:
        if self.source_of(link) == "http" and not link.endpoint_url:
            return [str(_("Give the endpoint URL."))]
        if self.source_of(link) == "file" and not link.source_file:
            return [str(_("Upload the utility's CSV file."))]
        return []

    def run(self, *, link, run, job_id) -> dict:
        if self.source_of(link) == "http":
            table = _table_from_json(http_get_json(link, link.endpoint_url))
        else:
            path = Path(settings.MEDIA_ROOT) / link.source_file
            if not path.exists():
                raise LinkError(_("The uploaded file is no longer there; upload it again."), code="file_missing")
            table = table_read(path, original_name=path.name)
        job_progress(job_id=job_id, done=0, total=len(table.rows), message=str(_("Matching customers")))
        return _sync(table, run=run)


def _table_from_json(data) -> Table:
    if isinstance(data, dict):
        data = next((data[key] for key in LIST_KEYS if isinstance(data.get(key), list)), None)
    if not isinstance(data, list):
        raise LinkError(_("The answer is not a list of customers."), code="not_a_list")
    rows, columns = [], []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            item = {}
        values = {normalise(key): "" if value is None else str(value).strip() for key, value in item.items()}
        columns.extend(name for name in values if name not in columns)
        rows.append((number, values, None))
    return Table(columns=columns, rows=rows)


def _sync(table: Table, *, run) -> dict:
    mapping = apply_aliases(table.columns, ALIASES)
    if "customer_id" not in mapping.values() and table.rows:
        raise LinkError(_("The source has no customer ID column (it has: %(columns)s).") % {
            "columns": ", ".join(table.columns) or "-"}, code="missing_columns")
    problems, by_id = Problems(), defaultdict(list)
    for number, raw, _geometry in table.rows:
        values = {ours: raw.get(theirs, "") for theirs, ours in mapping.items()}
        customer_id = values.get("customer_id", "").strip()
        if not customer_id:
            problems.add(number, "customer_id", "", _("The customer ID is empty."))
            continue
        if len(customer_id) > 40:
            problems.add(number, "customer_id", customer_id, _("At most 40 characters."))
            continue
        arrears = None
        if values.get("arrears"):
            arrears = parse_decimal(values["arrears"])
            if arrears is None or abs(arrears) >= 10**10:
                problems.add(number, "arrears", values["arrears"], _("Give the arrears as an amount in taka."))
                continue
        by_id[customer_id.upper()].append((number, customer_id, values, arrears))
    duplicates = [{"customer_id": records[0][1], "rows": [record[0] for record in records]}
                  for records in by_id.values() if len(records) > 1]
    unique = {key: records[0] for key, records in by_id.items() if len(records) == 1}
    connections = {c.key: c for c in WaterConnection.objects.annotate(key=Upper("customer_id"))
                   .filter(key__in=list(unique))}
    buildings = {}
    for building in Building.objects.annotate(key=Upper("water_customer_id")).filter(key__in=list(unique)).order_by(
            "bin"):
        buildings.setdefault(building.key, building)
    now, accounts, unmatched = timezone.now(), [], []
    matched = matched_connections = matched_buildings = 0
    for key, (number, customer_id, values, arrears) in sorted(unique.items()):
        connection = connections.get(key)
        building = buildings.get(key) or (connection.building if connection and connection.building_id else None)
        if connection or building:
            matched += 1
            matched_connections += connection is not None
            matched_buildings += building is not None
        else:
            unmatched.append({"row": number, "customer_id": customer_id, "customer_name": values.get(
                "customer_name", "")[:200]})
        accounts.append(UtilityAccount(
            customer_id=customer_id, customer_name=values.get("customer_name", "")[:200],
            connection_status=values.get("connection_status", "")[:40],
            payment_status=values.get("payment_status", "")[:40], arrears=arrears, water_connection=connection,
            building=building, last_run=run, synced_at=now))
    with transaction.atomic():
        UtilityAccount.objects.bulk_create(
            accounts, batch_size=2000, update_conflicts=True, unique_fields=["customer_id"],
            update_fields=["customer_name", "connection_status", "payment_status", "arrears", "water_connection",
                           "building", "last_run", "synced_at"])
    in_source = set(unique) | {item["customer_id"].upper() for item in duplicates}
    missing = [c.customer_id for c in WaterConnection.objects.filter(status=WaterConnection.Status.ACTIVE)
               .only("customer_id") if c.customer_id.upper() not in in_source]
    return {"source_rows": len(table.rows), "matched": matched, "matched_connections": matched_connections,
            "matched_buildings": matched_buildings, "unmatched_count": len(unmatched),
            "unmatched": unmatched[:REPORT_LIST_MAX], "duplicate_count": len(duplicates),
            "duplicates": duplicates[:REPORT_LIST_MAX], "problem_count": len(problems.items),
            "problems": problems.items[:REPORT_LIST_MAX], "applied": len(accounts),
            "active_not_in_source_count": len(missing), "active_not_in_source": missing[:REPORT_LIST_MAX]}
