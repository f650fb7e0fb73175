"""The field forms IMIS offers: who may fill each, who reviews it, what feature it needs, what it changes."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from imis.shared_apps.accounts.roles import Role

REGISTRY_SURVEYORS = frozenset({Role.FIELD_SURVEYOR, Role.GIS_OFFICER, Role.MUNICIPAL_ADMIN})
REGISTRY_REVIEWERS = frozenset({Role.GIS_OFFICER, Role.MUNICIPAL_ADMIN})
FSM_REVIEWERS = frozenset({Role.SANITATION_OFFICER, Role.MUNICIPAL_ADMIN, Role.GIS_OFFICER})


@dataclass(frozen=True)
class FormSpec:
    form_id: str
    title: str
    description: str
    icon: str
    # The municipality needs at least one of these features for the form (empty: always available).
    features: tuple[str, ...]
    submit_roles: frozenset[str]
    review_roles: frozenset[str]
    # Why approval is not possible yet (None: approval merges the submission).
    approval_blocked: str | None = None

    @property
    def feature_names(self) -> str:
        from imis.shared_apps.tenants.features import CATALOGUE as FEATURES

        return ", ".join(str(FEATURES[code].name) for code in self.features)


FORMS: dict[str, FormSpec] = {
    spec.form_id: spec
    for spec in [
        FormSpec("imis_building_survey", _("Building survey"),
                 _("New buildings and updates of registered ones: footprint or point, use, people, water and "
                   "sanitation, a photo."), "bi-building", (), REGISTRY_SURVEYORS, REGISTRY_REVIEWERS),
        FormSpec("imis_containment_survey", _("Containment survey"),
                 _("Septic tanks and pits: type, outlet, dimensions, the buildings served, GPS and a photo."),
                 "bi-moisture", (), REGISTRY_SURVEYORS, REGISTRY_REVIEWERS),
        FormSpec("imis_connection_survey", _("Sewer and water connection survey"),
                 _("Whether a building is connected to the sewer or the water supply, with the connection point."),
                 "bi-diagram-3", ("sewer", "water_supply"), REGISTRY_SURVEYORS, REGISTRY_REVIEWERS,
                 approval_blocked=_("Connections come with the water and sewer services: these submissions stay "
                                    "staged until the connection register exists. Reject the ones that are wrong.")),
        FormSpec("imis_emptying_record", _("Emptying record"),
                 _("The provider's crew records an emptying on a scheduled work order, with photos."), "bi-truck",
                 ("fsm",), frozenset({Role.SERVICE_PROVIDER}), FSM_REVIEWERS),
        FormSpec("imis_disposal_log", _("Disposal log"),
                 _("The plant gate logs a vehicle's arrival and the sludge it brings."), "bi-droplet-half",
                 ("fsm",), frozenset({Role.PLANT_OPERATOR}), FSM_REVIEWERS),
    ]
}
FORM_IDS = tuple(FORMS)
SUBMIT_ROLES = frozenset().union(*(spec.submit_roles for spec in FORMS.values()))
REVIEW_ROLES = frozenset().union(*(spec.review_roles for spec in FORMS.values()))


def form_spec(form_id: str) -> FormSpec | None:
    return FORMS.get(form_id)
