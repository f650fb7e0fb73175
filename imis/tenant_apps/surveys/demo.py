"""Demo: each municipality offers the field forms its features allow, and a few building surveys wait for review."""

from __future__ import annotations

import datetime
import uuid
from xml.sax.saxutils import escape

from django.utils import timezone

from imis.platform.demo import demo_step

from .catalogue import FORMS
from .models import EnabledForm, Submission
from .services import form_enable, forms_for_roles, submission_receive
from .xforms import form_compiled

DEMO_SUBMISSIONS = 3


@demo_step("surveys.forms", order=90)
def demo_forms(*, municipality, figures, scale, seed, log):
    from imis.shared_apps.tenants.features import enabled_features_of

    features = enabled_features_of(municipality)
    enabled = []
    for spec in FORMS.values():
        if spec.features and not set(spec.features) & features:
            continue
        if not EnabledForm.objects.filter(form_id=spec.form_id).exists():
            form_enable(form_id=spec.form_id, by=None)
        enabled.append(spec.form_id)
    staged = _demo_submissions(municipality)
    log(f"  {municipality.slug}: field forms {', '.join(enabled)}; {staged} building surveys staged for review")


def _demo_submissions(municipality) -> int:
    """A surveyor's visits to a few registered buildings (one more floor, counted people), left for review."""
    from imis.shared_apps.accounts.models import User
    from imis.shared_apps.accounts.selectors import user_roles_in
    from imis.shared_apps.tenants.demo import demo_email
    from imis.tenant_apps.registry.models import Building

    if Submission.objects.exists():
        return 0
    surveyor = User.objects.filter(email=demo_email("field_surveyor", municipality.slug)).first()
    if surveyor is None:
        return 0
    roles = user_roles_in(user=surveyor, municipality=municipality)
    if not any(spec.form_id == "imis_building_survey" for spec in forms_for_roles(municipality, roles)):
        return 0
    version = form_compiled("imis_building_survey").version
    buildings = list(Building.objects.select_related("ward", "holding").exclude(ward=None).order_by("pk")
                     [:DEMO_SUBMISSIONS])
    when = timezone.localtime() - datetime.timedelta(hours=3)
    for number, building in enumerate(buildings):
        answers = {
            "start": when.isoformat(), "end": (when + datetime.timedelta(minutes=9)).isoformat(),
            "deviceid": "collect:DEMO0001", "mode": "update", "ward": building.ward.number, "building": building.bin,
            "base_version": int(building.updated.timestamp()), "geometry": "keep",
            "holding_id": building.holding.holding_id if building.holding_id else "",
            "structure_type": building.structure_type or "pucca", "floors": building.floors + (number % 2),
            "functional_use": building.functional_use, "households": max(building.households, 1),
            "population_male": building.population_male + 1, "population_female": building.population_female,
            "population_other": 0, "population_differently_abled": 0,
            "is_low_income": "yes" if building.is_low_income else "no",
            "water_source": building.water_source or "tube_well", "has_toilet": "yes",
            "toilet_count": max(building.toilet_count, 1), "has_shared_toilet": "no",
            "sanitation_system": building.sanitation_system or "septic_tank",
            "is_desludging_vehicle_accessible": "yes", "photo": "", "notes": "Demo visit.",
        }
        body = "".join(f"<{name}>{escape(str(value))}</{name}>" for name, value in answers.items())
        xml = (f'<data id="imis_building_survey" version="{version}">{body}<meta><instanceID>uuid:{uuid.uuid4()}'
               f"</instanceID><instanceName>{escape(building.bin)}</instanceName></meta></data>").encode()
        submission_receive(municipality=municipality, user=surveyor, roles=roles, xml=xml, uploads=[])
    return len(buildings)
