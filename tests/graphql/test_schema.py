"""The committed schema.graphql is the schema the server runs; the command that writes it prints the same."""

from io import StringIO
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from imis.graphql.schema import schema

SCHEMA_FILE = Path(settings.BASE_DIR) / "schema.graphql"


def test_committed_schema_matches_the_code():
    printed = str(schema).rstrip() + "\n"
    committed = SCHEMA_FILE.read_text(encoding="utf-8")
    assert committed == printed, (
        "schema.graphql differs from the schema in code: run `python manage.py print_graphql_schema --write`, "
        "review the diff (breaking changes?) and commit it."
    )


def test_print_command_prints_the_committed_schema():
    out = StringIO()
    call_command("print_graphql_schema", stdout=out)
    assert out.getvalue() == SCHEMA_FILE.read_text(encoding="utf-8")


def test_every_registry_layer_and_workflow_step_is_in_the_schema():
    query = schema.graphql_schema.query_type.fields
    mutation = schema.graphql_schema.mutation_type.fields
    assert {"node", "me", "municipality", "wards", "buildings", "holdings", "containments", "roads", "drains",
            "sewers", "waterLines", "waterBodies", "waterloggingAreas", "lowIncomeCommunities", "treatmentPlants",
            "publicToilets", "municipalBoundaries"} <= set(query)
    assert {"fsmApplications", "fsmApplication", "serviceProviders", "vehicles", "crewMembers",
            "fsmTreatmentPlants", "fsmDisposals", "taxAssessments", "taxObjections", "taxBills", "taxPayments",
            "taxAdjustments", "taxDues", "taxHoldingDue", "tradeLicences", "tradeLicence", "businessCategories",
            "tradeLicenceFeeDue", "kpiDashboard", "surveySubmissions", "onlinePayments",
            "fsmPriceSlabs", "fsmEffluentTests", "fsmProgrammes", "fsmProgrammeVisits",
            "waterConnections", "waterConnection", "waterMeterReadings", "waterBills", "waterTariffs",
            "sewerConnections", "sewerConnection", "sewerCampaign"} <= set(query)
    assert set(mutation) == {
        "buildingCreate", "buildingUpdate", "buildingsBulkUpdate", "buildingsLinkNearestRoads", "holdingCreate",
        "holdingUpdate", "containmentCreate", "containmentUpdate",
        "fsmApplicationRegister", "fsmApplicationApprove", "fsmApplicationReject", "fsmApplicationSchedule",
        "fsmApplicationReschedule", "fsmApplicationRecordEmptying", "fsmDisposalRecord",
        "fsmApplicationRecordFeedback", "fsmApplicationCancel",
        "taxPaymentRecord", "taxPaymentReverse", "taxAssessmentCreate", "taxObjectionFile", "taxObjectionDecide",
        "taxAdjustmentRequest", "taxAdjustmentDecide",
        "tradeLicenceApply", "tradeLicenceInspect", "tradeLicenceApprove", "tradeLicenceReject", "tradeLicencePay",
        "tradeLicenceCancel",
        "serviceProviderCreate", "serviceProviderUpdate", "vehicleCreate", "vehicleUpdate", "crewMemberCreate",
        "crewMemberUpdate", "fsmPriceSlabCreate", "fsmPriceSlabUpdate", "fsmEffluentTestRecord",
        "fsmProgrammeCreate", "fsmProgrammePlan", "fsmProgrammeNotify", "fsmProgrammeVisitAccept",
        "fsmProgrammeVisitDecline",
        "waterConnectionApply", "waterConnectionReportIllegal", "waterConnectionInspect", "waterConnectionApprove",
        "waterConnectionReject", "waterConnectionActivate", "waterConnectionDisconnect", "waterConnectionReconnect",
        "waterReadingRecord", "waterPaymentTake", "waterBillsGenerate", "waterTariffSet",
        "sewerConnectionApply", "sewerConnectionSurvey", "sewerConnectionApprove", "sewerConnectionPay",
        "sewerConnectionConnect", "sewerConnectionReject", "sewerConnectionCancel",
    }


def test_every_paginated_list_answers_a_connection():
    """A type named like another type's connection (`SewerConnection` for `Sewer`'s) would silently take its
    place: every list with cursors must still answer edges and pageInfo."""
    from graphql import get_named_type

    for name, field in schema.graphql_schema.query_type.fields.items():
        if {"first", "after"} <= set(field.args):
            answered = get_named_type(field.type)
            assert {"edges", "pageInfo"} <= set(answered.fields), (name, answered.name)


def test_every_domain_type_declares_its_permission_and_feature():
    """A type of a feature's domain is gated by that feature and a permission, so guard_schema protects it."""
    from imis.graphql.fsm import types as fsm
    from imis.graphql.licences import types as licences
    from imis.graphql.sewer import types as sewer
    from imis.graphql.tax import types as tax
    from imis.graphql.water import types as water

    for module, feature in ((fsm, "fsm"), (tax, "holding_tax"), (licences, "trade_licence"),
                            (water, "water_supply"), (sewer, "sewer")):
        for name in dir(module):
            value = getattr(module, name)
            meta = getattr(value, "_meta", None)
            if isinstance(value, type) and getattr(meta, "fields", None) and hasattr(value, "imis_feature"):
                assert value.imis_feature == feature and value.imis_permission, name
