"""The municipal registry (tenant schema): the GIS database every service links to.

Geometry is stored in EPSG:4326; lengths, areas and distances are computed in metres (geography or the
municipality's projected CRS), never in degrees.
"""

from django.contrib.gis.db import models
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def next_year() -> int:
    """The latest construction year a record may carry (something being built may be finished next year)."""
    return timezone.now().year + 1


class TimeStamped(models.Model):
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Ward(models.Model):
    number = models.PositiveSmallIntegerField(_("ward number"), unique=True)
    name = models.CharField(_("name"), max_length=100, blank=True)
    name_bn = models.CharField(_("name in Bangla"), max_length=100, blank=True)
    boundary = models.MultiPolygonField(_("boundary"), srid=4326, null=True, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["number"]
        verbose_name = _("ward")

    def __str__(self) -> str:
        return self.name or f"Ward {self.number}"


class MunicipalBoundary(models.Model):
    name = models.CharField(_("name"), max_length=200)
    boundary = models.MultiPolygonField(_("boundary"), srid=4326)

    class Meta:
        verbose_name = _("municipal boundary")

    def __str__(self) -> str:
        return self.name


class Road(TimeStamped):
    class Hierarchy(models.TextChoices):
        PRIMARY = "primary", _("Primary")
        SECONDARY = "secondary", _("Secondary")
        TERTIARY = "tertiary", _("Tertiary")
        ACCESS = "access", _("Access road")
        LANE = "lane", _("Lane")

    class Surface(models.TextChoices):
        BITUMINOUS = "bituminous", _("Bituminous")
        CONCRETE = "concrete", _("Concrete")
        BRICK = "brick", _("Brick")
        GRAVEL = "gravel", _("Gravel")
        EARTHEN = "earthen", _("Earthen")

    code = models.CharField(_("road code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    hierarchy = models.CharField(_("hierarchy"), max_length=12, choices=Hierarchy.choices, default=Hierarchy.ACCESS)
    width_m = models.DecimalField(_("width (m)"), max_digits=6, decimal_places=2, null=True, blank=True)
    surface = models.CharField(_("surface"), max_length=12, choices=Surface.choices, blank=True)
    geom = models.LineStringField(_("centre line"), srid=4326)

    class Meta:
        ordering = ["code"]
        verbose_name = _("road")

    def __str__(self) -> str:
        return f"{self.code} {self.name}".strip()


class TreatmentPlant(TimeStamped):
    class Type(models.TextChoices):
        FSTP = "fstp", _("Faecal sludge treatment plant")
        WWTP = "wwtp", _("Wastewater treatment plant")
        CO_TREATMENT = "co_treatment", _("Co-treatment plant")

    class Status(models.TextChoices):
        OPERATIONAL = "operational", _("Operational")
        UNDER_CONSTRUCTION = "under_construction", _("Under construction")
        NOT_OPERATIONAL = "not_operational", _("Not operational")

    name = models.CharField(_("name"), max_length=200)
    type = models.CharField(_("type"), max_length=16, choices=Type.choices)
    capacity_m3_per_day = models.DecimalField(_("capacity (m³/day)"), max_digits=10, decimal_places=2)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPERATIONAL)
    location = models.PointField(_("location"), srid=4326)

    class Meta:
        ordering = ["name"]
        verbose_name = _("treatment plant")

    def __str__(self) -> str:
        return self.name


class Holding(TimeStamped):
    """The tax/property unit a resident knows by its holding ID."""

    holding_id = models.CharField(_("holding ID"), max_length=40, unique=True)
    ward = models.ForeignKey(Ward, verbose_name=_("ward"), on_delete=models.PROTECT, related_name="holdings")
    road = models.ForeignKey(Road, verbose_name=_("road"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="holdings")
    address = models.CharField(_("address"), max_length=300, blank=True)
    is_multi_ward_confirmed = models.BooleanField(
        _("buildings in several wards confirmed"), default=False,
        help_text=_("A holding's buildings lie in one ward unless this is confirmed."),
    )

    class Meta:
        ordering = ["holding_id"]
        verbose_name = _("holding")

    def __str__(self) -> str:
        return self.holding_id


class Owner(models.Model):
    class Gender(models.TextChoices):
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        OTHER = "other", _("Other")

    holding = models.ForeignKey(Holding, on_delete=models.CASCADE, related_name="owners")
    name = models.CharField(_("owner name"), max_length=200)
    phone = models.CharField(_("phone (E.164)"), max_length=20, blank=True, db_index=True)
    national_id = models.CharField(_("national ID"), max_length=20, blank=True)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("owner")
        indexes = [models.Index(fields=["name"])]

    def __str__(self) -> str:
        return self.name


class Building(TimeStamped):
    class StructureType(models.TextChoices):
        PUCCA = "pucca", _("Pucca (brick/concrete)")
        SEMI_PUCCA = "semi_pucca", _("Semi-pucca")
        KUTCHA = "kutcha", _("Kutcha")
        OTHER = "other", _("Other")

    class FunctionalUse(models.TextChoices):
        RESIDENTIAL = "residential", _("Residential")
        COMMERCIAL = "commercial", _("Commercial")
        MIXED = "mixed", _("Mixed")
        INDUSTRIAL = "industrial", _("Industrial")
        INSTITUTIONAL = "institutional", _("Institutional")
        EDUCATIONAL = "educational", _("Educational")
        HEALTH = "health", _("Health")
        RELIGIOUS = "religious", _("Religious")
        GOVERNMENT = "government", _("Government")

    class WaterSource(models.TextChoices):
        MUNICIPAL = "municipal", _("Municipal supply")
        TUBE_WELL = "tube_well", _("Tube well")
        DEEP_TUBE_WELL = "deep_tube_well", _("Deep tube well")
        POND = "pond", _("Pond / surface water")
        OTHER = "other", _("Other")

    class SanitationSystem(models.TextChoices):
        SEWER = "sewer", _("Sewer")
        DRAIN = "drain", _("Drain")
        SEPTIC_TANK = "septic_tank", _("Septic tank")
        PIT = "pit", _("Pit / holding tank")
        ONSITE_TREATMENT = "onsite_treatment", _("Onsite treatment")
        COMPOSTING = "composting", _("Composting toilet")
        WATER_BODY = "water_body", _("Water body")
        OPEN_GROUND = "open_ground", _("Open ground")
        COMMUNITY_TOILET = "community_toilet", _("Community toilet")
        OPEN_DEFECATION = "open_defecation", _("Open defecation")
        SHARED_SEPTIC_TANK = "shared_septic_tank", _("Shared septic tank")
        SHARED_TOILET = "shared_toilet", _("Shared toilet")

    class Verification(models.TextChoices):
        UNVERIFIED = "unverified", _("Not verified")
        VERIFIED = "verified", _("Verified")
        NEEDS_REVIEW = "needs_review", _("Needs review")
        DIGITISED = "digitised", _("Digitised, not verified")

    class RoadLink(models.TextChoices):
        NONE = "none", _("Not linked")
        LINKED = "linked", _("Linked")
        AMBIGUOUS = "ambiguous", _("Ambiguous")
        FAR = "far", _("Too far from a road")

    bin = models.CharField(_("BIN"), max_length=40, unique=True, help_text=_("Building identification number"))
    footprint = models.PolygonField(_("footprint"), srid=4326)
    holding = models.ForeignKey(Holding, verbose_name=_("holding"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="buildings")
    # No index of its own: the (ward, functional_use) index below serves every lookup by ward.
    ward = models.ForeignKey(Ward, verbose_name=_("ward"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="buildings", db_index=False)
    structure_type = models.CharField(_("structure type"), max_length=12, choices=StructureType.choices, blank=True)
    floors = models.PositiveSmallIntegerField(_("floors"), default=1, validators=[MinValueValidator(1),
                                                                                   MaxValueValidator(200)])
    construction_year = models.PositiveSmallIntegerField(_("construction year"), null=True, blank=True,
                                                         validators=[MinValueValidator(1800),
                                                                     MaxValueValidator(next_year)])
    functional_use = models.CharField(_("functional use"), max_length=14, choices=FunctionalUse.choices,
                                      default=FunctionalUse.RESIDENTIAL)
    households = models.PositiveIntegerField(_("households"), default=0)
    population_male = models.PositiveIntegerField(_("population (male)"), default=0)
    population_female = models.PositiveIntegerField(_("population (female)"), default=0)
    population_other = models.PositiveIntegerField(_("population (other)"), default=0)
    population_differently_abled = models.PositiveIntegerField(_("differently-abled people"), default=0)
    is_low_income = models.BooleanField(_("low-income household(s)"), default=False)
    water_source = models.CharField(_("water source"), max_length=16, choices=WaterSource.choices, blank=True)
    water_customer_id = models.CharField(_("water customer ID"), max_length=40, blank=True)
    has_toilet = models.BooleanField(_("has a toilet"), default=True)
    toilet_count = models.PositiveSmallIntegerField(_("toilets"), default=0)
    has_shared_toilet = models.BooleanField(_("toilet shared with other buildings"), default=False)
    sanitation_system = models.CharField(_("sanitation system"), max_length=20, choices=SanitationSystem.choices,
                                         blank=True)
    sewer_code = models.CharField(_("sewer code"), max_length=40, blank=True)
    drain_code = models.CharField(_("drain code"), max_length=40, blank=True)
    is_desludging_vehicle_accessible = models.BooleanField(_("desludging vehicle can reach"), null=True, blank=True)
    verification_status = models.CharField(_("verification"), max_length=14, choices=Verification.choices,
                                           default=Verification.UNVERIFIED)
    surveyed_at = models.DateTimeField(_("surveyed at"), null=True, blank=True)
    nearest_road = models.ForeignKey(Road, verbose_name=_("nearest road"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="buildings")
    road_distance_m = models.FloatField(_("distance to road (m)"), null=True, blank=True)
    road_link_status = models.CharField(_("road link"), max_length=10, choices=RoadLink.choices,
                                        default=RoadLink.NONE)

    class Meta:
        ordering = ["bin"]
        verbose_name = _("building")
        indexes = [
            models.Index(fields=["ward", "functional_use"]),
            models.Index(fields=["sanitation_system"]),
            models.Index(fields=["verification_status"]),
            models.Index(fields=["road_link_status"]),
        ]

    def __str__(self) -> str:
        return self.bin

    @property
    def population(self) -> int:
        return self.population_male + self.population_female + self.population_other


class Containment(TimeStamped):
    class Type(models.TextChoices):
        SEPTIC_TANK = "septic_tank", _("Septic tank")
        LINED_PIT = "lined_pit", _("Lined pit")
        UNLINED_PIT = "unlined_pit", _("Unlined pit")
        HOLDING_TANK = "holding_tank", _("Holding tank")

    class Outlet(models.TextChoices):
        SOAK_PIT = "soak_pit", _("Soak pit")
        DRAIN = "drain", _("Drain")
        SEWER = "sewer", _("Sewer")
        OPEN_GROUND = "open_ground", _("Open ground")
        WATER_BODY = "water_body", _("Water body")
        NONE = "none", _("None")

    code = models.CharField(_("containment code"), max_length=40, unique=True)
    type = models.CharField(_("type"), max_length=14, choices=Type.choices)
    outlet = models.CharField(_("outlet"), max_length=12, choices=Outlet.choices, default=Outlet.NONE)
    length_m = models.DecimalField(_("length (m)"), max_digits=6, decimal_places=2, null=True, blank=True)
    width_m = models.DecimalField(_("width (m)"), max_digits=6, decimal_places=2, null=True, blank=True)
    diameter_m = models.DecimalField(_("diameter (m)"), max_digits=6, decimal_places=2, null=True, blank=True)
    depth_m = models.DecimalField(_("depth (m)"), max_digits=6, decimal_places=2, null=True, blank=True)
    volume_m3 = models.DecimalField(_("volume (m³)"), max_digits=8, decimal_places=2, null=True, blank=True)
    construction_year = models.PositiveSmallIntegerField(_("construction year"), null=True, blank=True,
                                                         validators=[MinValueValidator(1800),
                                                                     MaxValueValidator(next_year)])
    location = models.PointField(_("location"), srid=4326)
    ward = models.ForeignKey(Ward, verbose_name=_("ward"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="containments")
    buildings = models.ManyToManyField(Building, verbose_name=_("buildings served"), related_name="containments",
                                       blank=True)
    last_emptied_on = models.DateField(_("last emptied"), null=True, blank=True)
    times_emptied = models.PositiveIntegerField(_("times emptied"), default=0)
    next_emptying_due = models.DateField(_("next emptying due"), null=True, blank=True, db_index=True)
    surveyed_at = models.DateTimeField(_("surveyed at"), null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("containment")

    def __str__(self) -> str:
        return self.code


class Drain(TimeStamped):
    class Kind(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    code = models.CharField(_("drain code"), max_length=40, unique=True)
    kind = models.CharField(_("open or closed"), max_length=8, choices=Kind.choices, default=Kind.OPEN)
    is_covered = models.BooleanField(_("covered"), default=False)
    size_mm = models.PositiveIntegerField(_("size (mm)"), null=True, blank=True)
    treatment_plant = models.ForeignKey(TreatmentPlant, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="drains")
    geom = models.LineStringField(srid=4326)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Sewer(TimeStamped):
    code = models.CharField(_("sewer code"), max_length=40, unique=True)
    diameter_mm = models.PositiveIntegerField(_("diameter (mm)"), null=True, blank=True)
    treatment_plant = models.ForeignKey(TreatmentPlant, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="sewers")
    geom = models.LineStringField(srid=4326)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class WaterLine(TimeStamped):
    class Material(models.TextChoices):
        PVC = "pvc", "PVC"
        HDPE = "hdpe", "HDPE"
        DI = "ductile_iron", _("Ductile iron")
        GI = "galvanised_iron", _("Galvanised iron")
        AC = "asbestos_cement", _("Asbestos cement")

    code = models.CharField(_("code"), max_length=40, unique=True)
    diameter_mm = models.PositiveIntegerField(_("diameter (mm)"), null=True, blank=True)
    material = models.CharField(_("material"), max_length=16, choices=Material.choices, blank=True)
    geom = models.LineStringField(srid=4326)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class WaterBody(TimeStamped):
    class Kind(models.TextChoices):
        POND = "pond", _("Pond")
        LAKE = "lake", _("Lake")
        CANAL = "canal", _("Canal")
        RIVER = "river", _("River")

    name = models.CharField(_("name"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.POND)
    geom = models.PolygonField(srid=4326)

    def __str__(self) -> str:
        return self.name or f"{self.get_kind_display()} {self.pk}"


class WaterloggingArea(TimeStamped):
    class Severity(models.TextChoices):
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")

    name = models.CharField(_("name"), max_length=200, blank=True)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices, default=Severity.MEDIUM)
    geom = models.PolygonField(srid=4326)

    def __str__(self) -> str:
        return self.name or f"Water-logging area {self.pk}"


class LowIncomeCommunity(TimeStamped):
    name = models.CharField(_("name"), max_length=200)
    households = models.PositiveIntegerField(_("households"), default=0)
    population = models.PositiveIntegerField(_("population"), default=0)
    geom = models.PolygonField(srid=4326)

    class Meta:
        verbose_name = _("low-income community")
        verbose_name_plural = _("low-income communities")

    def __str__(self) -> str:
        return self.name


class PublicToilet(TimeStamped):
    class Kind(models.TextChoices):
        PUBLIC = "public", _("Public toilet")
        COMMUNITY = "community", _("Community toilet")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PUBLIC)
    ward = models.ForeignKey(Ward, null=True, blank=True, on_delete=models.PROTECT, related_name="toilets")
    seats_male = models.PositiveSmallIntegerField(_("seats for men"), default=0)
    seats_female = models.PositiveSmallIntegerField(_("seats for women"), default=0)
    seats_pwd = models.PositiveSmallIntegerField(_("seats for people with disabilities"), default=0)
    has_universal_design = models.BooleanField(_("universal design"), default=False)
    fee_bdt = models.DecimalField(_("fee (BDT)"), max_digits=8, decimal_places=2, default=0)
    location = models.PointField(srid=4326)

    def __str__(self) -> str:
        return self.name
