"""Reads on sewer connections: the list with its filters, headline counts, one application, and the campaign
list of buildings that could connect (the maps analysis "connectable to a network", over every sewer line)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from imis.tenant_apps.maps import analyses
from imis.tenant_apps.maps.analyses import AnalysisResult

from .models import SewerConnection

S = SewerConnection.Status
OPEN = SewerConnection.OPEN_STATUSES


def connections_listed(*, query: str = "", status: str = "", ward: int | None = None, sewer: str = ""
                       ) -> QuerySet[SewerConnection]:
    connections = SewerConnection.objects.select_related("building", "holding", "sewer", "building__ward")
    if query:
        q = query.strip()
        connections = connections.filter(Q(application_number__istartswith=q) | Q(building__bin__istartswith=q)
                                         | Q(holding__holding_id__istartswith=q) | Q(applicant_name__icontains=q))
    if status == "open":
        connections = connections.filter(status__in=OPEN)
    elif status:
        connections = connections.filter(status=status)
    if ward:
        connections = connections.filter(building__ward__number=ward)
    if sewer:
        connections = connections.filter(sewer__code=sewer)
    return connections.order_by("-applied_on", "-id")


def connection_counts() -> dict:
    return SewerConnection.objects.aggregate(
        open=Count("id", filter=Q(status__in=OPEN)), to_survey=Count("id", filter=Q(status=S.APPLIED)),
        to_approve=Count("id", filter=Q(status=S.SURVEYED)), fee_due=Count("id", filter=Q(status=S.APPROVED)),
        to_connect=Count("id", filter=Q(status=S.FEE_PAID)), connected=Count("id", filter=Q(status=S.CONNECTED)))


def connection_detail(pk: int) -> SewerConnection:
    return (SewerConnection.objects.select_related("building", "building__ward", "holding", "sewer")
            .prefetch_related("events").get(pk=pk))


def campaign_buildings(*, distance_m, ward: int | None = None, sewer_id: int | None = None) -> AnalysisResult:
    """Buildings within `distance_m` of a sewer (one line, or any) not yet on it, by ward then distance; each row
    says whether an application is already in progress (`application_id`, `application_number`)."""
    rows = analyses.buildings_near_network(table="registry_sewer", distance_m=distance_m, line_id=sewer_id,
                                           not_on="sewer")
    for row in rows:
        row["sewer_id"], row["sewer_code"] = row.pop("line_id"), row.pop("line_code")
    open_ones = dict(SewerConnection.objects.filter(building_id__in=[row["id"] for row in rows], status__in=OPEN)
                     .values_list("building_id", "pk"))
    numbers = dict(SewerConnection.objects.filter(pk__in=open_ones.values()).values_list("pk", "application_number"))
    for row in rows:
        row["application_id"] = open_ones.get(row["id"])
        row["application_number"] = numbers.get(row["application_id"], "")
    rows.sort(key=lambda row: (row["ward"] is None, row["ward"] or 0, row["distance_m"], row["bin"]))
    by_ward: dict = {}
    for row in rows:
        entry = by_ward.setdefault(row["ward"], {"ward": row["ward"], "buildings": 0, "population": 0,
                                                 "with_application": 0})
        entry["buildings"] += 1
        entry["population"] += row["population"]
        entry["with_application"] += 1 if row["application_id"] else 0
    if ward:
        rows = [row for row in rows if row["ward"] == ward]
    return AnalysisResult("sewer_campaign", ["ward", "bin", "holding_id", "functional_use", "sanitation_system",
                          "households", "population", "sewer_code", "distance_m", "application_number"], rows,
                          {"buildings": len(rows), "population": sum(row["population"] for row in rows),
                           "with_application": sum(1 for row in rows if row["application_id"]),
                           "by_ward": list(by_ward.values())})
