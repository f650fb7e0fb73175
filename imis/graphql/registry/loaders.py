"""How the registry's GraphQL fields map to the ORM, so lists load their nesting in a bounded number of queries.

Keys are GraphQL field names. `relations` are joined or prefetched when selected; `heavy` geometry columns are
left out of the SQL when not selected; `annotations` are computed in the list query when selected.
"""

from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce

from imis.tenant_apps.registry.models import Building, Containment

from ..optimizer import register_loader
from . import types


def _count(queryset, key: str):
    # A correlated subquery, not Count("buildings"): it stays right inside a prefetch through the same relation.
    counted = queryset.filter(**{key: OuterRef("pk")}).order_by().values(key).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


HOLDING_BUILDING_COUNT = ("building_count", _count(Building.objects.all(), "holding_id"))
CONTAINMENT_BUILDING_COUNT = ("building_count", _count(Containment.buildings.through.objects.all(), "containment_id"))

register_loader(types.WardType, heavy={"boundary": "boundary"})
register_loader(types.MunicipalBoundaryType, heavy={"boundary": "boundary"})
register_loader(types.RoadType, heavy={"geometry": "geom"})
register_loader(
    types.BuildingType,
    relations={"holding": "holding", "ward": "ward", "nearestRoad": "nearest_road", "containments": "containments"},
    heavy={"footprint": "footprint"},
)
register_loader(
    types.HoldingType,
    relations={"ward": "ward", "road": "road", "owners": "owners", "buildings": "buildings"},
    annotations={"buildingCount": HOLDING_BUILDING_COUNT},
)
register_loader(
    types.ContainmentType,
    relations={"ward": "ward", "buildings": "buildings"},
    heavy={"location": "location"},
    annotations={"buildingCount": CONTAINMENT_BUILDING_COUNT},
)
register_loader(types.TreatmentPlantType, heavy={"location": "location"})
register_loader(types.DrainType, relations={"treatmentPlant": "treatment_plant"}, heavy={"geometry": "geom"})
register_loader(types.SewerType, relations={"treatmentPlant": "treatment_plant"}, heavy={"geometry": "geom"})
register_loader(types.WaterLineType, heavy={"geometry": "geom"})
register_loader(types.WaterBodyType, heavy={"geometry": "geom"})
register_loader(types.WaterloggingAreaType, heavy={"geometry": "geom"})
register_loader(types.LowIncomeCommunityType, heavy={"geometry": "geom"})
register_loader(types.PublicToiletType, relations={"ward": "ward"}, heavy={"location": "location"})
