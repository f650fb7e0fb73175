"""Faecal sludge management: who empties, with what, for whom, and where the sludge went.

The application follows the real chain of custody: received → approved → scheduled → emptied → disposed →
feedback → closed (or rejected / cancelled). Every transition is a service in services.py and an event here.
"""

from __future__ import annotations

from django.contrib.gis.db import models
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from imis.tenant_apps.registry.models import Building, Containment, Holding, TreatmentPlant, Ward


class ServiceProvider(models.Model):
    class Kind(models.TextChoices):
        PRIVATE = "private", _("Private operator")
        MUNICIPAL = "municipal", _("Municipal operator")

    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PRIVATE)
    contact_name = models.CharField(_("contact person"), max_length=200, blank=True)
    phone = models.CharField(_("phone (E.164)"), max_length=20, blank=True)
    email = models.EmailField(_("email"), blank=True)
    contract_start = models.DateField(_("contract from"), null=True, blank=True)
    contract_end = models.DateField(_("contract until"), null=True, blank=True)
    wards = models.ManyToManyField(Ward, verbose_name=_("wards served"), blank=True, related_name="fsm_providers")
    user_ids = models.JSONField(_("staff accounts"), default=list, blank=True,
                                help_text=_("accounts.User ids of the provider's people (public schema)"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Vehicle(models.Model):
    class SuctionType(models.TextChoices):
        VACUUM_TRUCK = "vacuum_truck", _("Vacuum truck")
        VACUTUG = "vacutug", _("Vacutug")
        MANUAL_PUMP = "manual_pump", _("Manual pump")

    class Status(models.TextChoices):
        AVAILABLE = "available", _("Available")
        MAINTENANCE = "maintenance", _("In maintenance")
        RETIRED = "retired", _("Retired")

    provider = models.ForeignKey(ServiceProvider, on_delete=models.PROTECT, related_name="vehicles")
    registration = models.CharField(_("registration"), max_length=40, unique=True)
    capacity_m3 = models.DecimalField(_("capacity (m³)"), max_digits=6, decimal_places=2,
                                      validators=[MinValueValidator(0.1)])
    suction_type = models.CharField(_("suction type"), max_length=14, choices=SuctionType.choices,
                                    default=SuctionType.VACUUM_TRUCK)
    width_m = models.DecimalField(_("width (m)"), max_digits=4, decimal_places=2, default=2.5)
    fitness_valid_until = models.DateField(_("fitness certificate until"), null=True, blank=True)
    insurance_valid_until = models.DateField(_("insurance until"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.AVAILABLE)

    class Meta:
        ordering = ["registration"]

    def __str__(self) -> str:
        return self.registration


class CrewMember(models.Model):
    class Role(models.TextChoices):
        DRIVER = "driver", _("Driver")
        EMPTIER = "emptier", _("Emptier")
        HELPER = "helper", _("Helper")

    provider = models.ForeignKey(ServiceProvider, on_delete=models.PROTECT, related_name="crew")
    name = models.CharField(_("name"), max_length=200)
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    phone = models.CharField(_("phone (E.164)"), max_length=20, blank=True)
    trained_on = models.DateField(_("trained on"), null=True, blank=True)
    licence_number = models.CharField(_("driving licence"), max_length=40, blank=True)
    ppe_issued_on = models.DateField(_("PPE issued on"), null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["provider", "name"]

    def __str__(self) -> str:
        return self.name


class PriceSlab(models.Model):
    """The fee per trip for a containment volume range and (optionally) a building use."""

    volume_from_m3 = models.DecimalField(_("volume from (m³)"), max_digits=6, decimal_places=2, default=0)
    volume_to_m3 = models.DecimalField(_("volume up to (m³)"), max_digits=6, decimal_places=2)
    building_use = models.CharField(_("building use"), max_length=14, choices=Building.FunctionalUse.choices,
                                    blank=True, help_text=_("Empty: any use."))
    fee_per_trip = models.DecimalField(_("fee per trip (BDT)"), max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["building_use", "volume_from_m3"]

    def __str__(self) -> str:
        return f"{self.volume_from_m3}-{self.volume_to_m3} m³ {self.building_use or '*'}: {self.fee_per_trip}"


class Application(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        SCHEDULED = "scheduled", _("Scheduled")
        EMPTIED = "emptied", _("Emptied")
        DISPOSED = "disposed", _("Disposed")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        WALK_IN = "walk_in", _("Walk-in")
        ONLINE = "online", _("Online")
        SCHEDULED = "scheduled", _("Scheduled programme")

    class Slot(models.TextChoices):
        MORNING = "morning", _("Morning (8–12)")
        AFTERNOON = "afternoon", _("Afternoon (12–16)")
        EVENING = "evening", _("Evening (16–19)")

    number = models.CharField(_("application number"), max_length=30, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RECEIVED,
                              db_index=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.PHONE)
    is_emergency = models.BooleanField(_("emergency"), default=False)
    holding = models.ForeignKey(Holding, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="fsm_applications")
    building = models.ForeignKey(Building, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="fsm_applications")
    containment = models.ForeignKey(Containment, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="fsm_applications")
    ward = models.ForeignKey(Ward, null=True, blank=True, on_delete=models.PROTECT, related_name="fsm_applications")
    location = models.PointField(_("location"), srid=4326, null=True, blank=True)
    applicant_name = models.CharField(_("applicant"), max_length=200)
    applicant_phone = models.CharField(_("applicant phone (E.164)"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    received_at = models.DateTimeField(_("received"), db_index=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(_("rejection reason"), max_length=300, blank=True)
    # schedule
    provider = models.ForeignKey(ServiceProvider, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="applications")
    vehicle = models.ForeignKey(Vehicle, null=True, blank=True, on_delete=models.PROTECT, related_name="applications")
    crew = models.ManyToManyField(CrewMember, blank=True, related_name="applications")
    scheduled_date = models.DateField(_("scheduled date"), null=True, blank=True, db_index=True)
    scheduled_slot = models.CharField(_("slot"), max_length=10, choices=Slot.choices, blank=True)
    is_confirmed_with_customer = models.BooleanField(_("confirmed with the customer"), default=False)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    times_rescheduled = models.PositiveSmallIntegerField(default=0)
    emptied_at = models.DateTimeField(null=True, blank=True, db_index=True)
    disposed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(_("cancellation reason"), max_length=300, blank=True)
    fee_estimate = models.DecimalField(_("estimated fee (BDT)"), max_digits=10, decimal_places=2, null=True,
                                       blank=True)
    fee_amount = models.DecimalField(_("fee (BDT)"), max_digits=10, decimal_places=2, null=True, blank=True)
    fee_breakdown = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["status", "received_at"])]

    def __str__(self) -> str:
        return self.number


class ApplicationEvent(models.Model):
    """The timeline: one row per transition, with who did it and what they said."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(db_index=True)
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=254, blank=True)
    note = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.from_status} → {self.to_status}"


class Emptying(models.Model):
    application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="emptying")
    emptied_on = models.DateField(_("emptied on"))
    started_at = models.TimeField(_("start"), null=True, blank=True)
    ended_at = models.TimeField(_("end"), null=True, blank=True)
    volume_m3 = models.DecimalField(_("volume (m³)"), max_digits=6, decimal_places=2,
                                    validators=[MinValueValidator(0.01)])
    trips = models.PositiveSmallIntegerField(_("trips"), default=1, validators=[MinValueValidator(1)])
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="emptyings")
    crew = models.ManyToManyField(CrewMember, blank=True, related_name="emptyings")
    is_ppe_worn = models.BooleanField(_("PPE worn by the whole crew"), default=False)
    receipt_number = models.CharField(_("receipt number"), max_length=40, blank=True)
    cost = models.DecimalField(_("cost charged (BDT)"), max_digits=10, decimal_places=2, null=True, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Emptying of {self.application_id}"


class EmptyingPhoto(models.Model):
    emptying = models.ForeignKey(Emptying, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to="fsm/emptying/%Y/%m/")
    uploaded_at = models.DateTimeField(auto_now_add=True)


class Disposal(models.Model):
    """One arrival at a treatment plant: a vehicle may bring the sludge of several applications in one trip."""

    treatment_plant = models.ForeignKey(TreatmentPlant, on_delete=models.PROTECT, related_name="disposals")
    vehicle = models.ForeignKey(Vehicle, null=True, blank=True, on_delete=models.PROTECT, related_name="disposals")
    unregistered_vehicle = models.CharField(_("unregistered vehicle (registration)"), max_length=40, blank=True)
    arrived_at = models.DateTimeField(_("arrived"), db_index=True)
    exited_at = models.DateTimeField(_("left"), null=True, blank=True)
    volume_received_m3 = models.DecimalField(_("volume received (m³)"), max_digits=7, decimal_places=2,
                                             validators=[MinValueValidator(0.01)])
    applications = models.ManyToManyField(Application, blank=True, related_name="disposals")
    recorded_by_id = models.BigIntegerField(null=True, blank=True)
    notes = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-arrived_at"]

    def __str__(self) -> str:
        return f"{self.vehicle or self.unregistered_vehicle} at {self.treatment_plant} {self.arrived_at:%Y-%m-%d %H:%M}"


class Feedback(models.Model):
    class Channel(models.TextChoices):
        HELP_DESK = "help_desk", _("Help-desk call")
        ONLINE = "online", _("Resident online")

    application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="feedback")
    rating = models.PositiveSmallIntegerField(_("overall rating (1–5)"),
                                              validators=[MinValueValidator(1), MaxValueValidator(5)])
    service_quality = models.PositiveSmallIntegerField(_("service quality (1–5)"),
                                                       validators=[MinValueValidator(1), MaxValueValidator(5)])
    is_ppe_worn = models.BooleanField(_("crew wore PPE"), null=True, blank=True)
    had_spillage = models.BooleanField(_("sludge was spilled"), default=False)
    comments = models.TextField(_("comments"), blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.HELP_DESK)
    recorded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Feedback {self.rating}/5 on {self.application_id}"


class EffluentTest(models.Model):
    treatment_plant = models.ForeignKey(TreatmentPlant, on_delete=models.PROTECT, related_name="effluent_tests")
    sampled_on = models.DateField(_("sampled on"), db_index=True)
    bod_mg_l = models.DecimalField("BOD (mg/L)", max_digits=8, decimal_places=2, null=True, blank=True)
    cod_mg_l = models.DecimalField("COD (mg/L)", max_digits=8, decimal_places=2, null=True, blank=True)
    tss_mg_l = models.DecimalField("TSS (mg/L)", max_digits=8, decimal_places=2, null=True, blank=True)
    ecoli_cfu_100ml = models.DecimalField("E. coli (CFU/100 mL)", max_digits=12, decimal_places=1, null=True,
                                          blank=True)
    ph = models.DecimalField("pH", max_digits=4, decimal_places=2, null=True, blank=True,
                             validators=[MinValueValidator(0), MaxValueValidator(14)])
    temperature_c = models.DecimalField(_("temperature (°C)"), max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["-sampled_on"]

    def __str__(self) -> str:
        return f"{self.treatment_plant} {self.sampled_on}"


class DesludgingProgramme(models.Model):
    """Scheduled (block) desludging: containments due in some wards over a period, planned as daily routes."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PLANNED = "planned", _("Planned")
        NOTIFIED = "notified", _("Households notified")
        CLOSED = "closed", _("Closed")

    name = models.CharField(_("name"), max_length=200)
    wards = models.ManyToManyField(Ward, verbose_name=_("wards"), blank=True, related_name="fsm_programmes")
    area = models.PolygonField(_("area"), srid=4326, null=True, blank=True)
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"))
    treatment_plant = models.ForeignKey(TreatmentPlant, on_delete=models.PROTECT, related_name="programmes")
    vehicles = models.ManyToManyField(Vehicle, verbose_name=_("vehicles"), related_name="programmes")
    trips_per_day = models.PositiveSmallIntegerField(_("trips per vehicle per day"), default=3)
    working_weekdays = models.JSONField(_("working weekdays"), default=list,
                                        help_text=_("0 = Monday … 6 = Sunday; Bangladesh: Sunday to Thursday"))
    holidays = models.JSONField(_("holidays"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    summary = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    created_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-start_date"]

    def __str__(self) -> str:
        return self.name


class ProgrammeVisit(models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        NOTIFIED = "notified", _("Notified")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")

    programme = models.ForeignKey(DesludgingProgramme, on_delete=models.CASCADE, related_name="visits")
    containment = models.ForeignKey(Containment, on_delete=models.PROTECT, related_name="programme_visits")
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="programme_visits")
    date = models.DateField(db_index=True)
    sequence = models.PositiveIntegerField(help_text=_("order in the vehicle's route that day"))
    volume_m3 = models.DecimalField(max_digits=6, decimal_places=2)
    distance_from_previous_m = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED)
    decline_reason = models.CharField(max_length=300, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    application = models.OneToOneField(Application, null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="programme_visit")

    class Meta:
        ordering = ["date", "vehicle", "sequence"]
        constraints = [models.UniqueConstraint(fields=["programme", "containment"], name="uniq_programme_containment")]

    def __str__(self) -> str:
        return f"{self.containment_id} on {self.date}"


class SmsMessage(models.Model):
    """Every SMS we send (or would send): the outbox the SMS adapter writes and a clerk can read."""

    to = models.CharField(max_length=20)
    body = models.TextField()
    created = models.DateTimeField(auto_now_add=True)
    gateway = models.CharField(max_length=40)
    status = models.CharField(max_length=20, default="sent")
    reference = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created"]
