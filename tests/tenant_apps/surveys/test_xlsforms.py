"""The XLSForms kept in the project: each compiles with pyxform, is up to date with its build script, and
declares the media files the server fills."""

from __future__ import annotations

import pytest
from lxml import etree

from imis.tenant_apps.surveys.catalogue import FORMS
from imis.tenant_apps.surveys.forms.build_xlsforms import VERSIONS, xlsx_outdated, xlsx_path
from imis.tenant_apps.surveys.xforms import form_compiled, xform_compile, xlsx_bytes

XF = "{http://www.w3.org/2002/xforms}"
MEDIA = {
    "imis_building_survey": ("buildings.csv", "roads.csv", "wards.csv"),
    "imis_containment_survey": ("buildings.csv", "containments.csv", "wards.csv"),
    "imis_connection_survey": ("buildings.csv", "roads.csv", "services.csv", "wards.csv"),
    "imis_emptying_record": ("applications.csv", "vehicles.csv"),
    "imis_disposal_log": ("applications.csv", "plants.csv", "vehicles.csv"),
}


@pytest.mark.parametrize("form_id", list(FORMS))
def test_each_xlsform_compiles_to_an_xform(form_id):
    from pyxform.xls2xform import convert

    warnings: list[str] = []
    convert(xlsx_bytes(form_id), warnings=warnings, file_type=".xlsx")
    compiled = form_compiled(form_id)

    assert warnings == []
    document = etree.fromstring(compiled.xml)
    instance = document.find(f".//{XF}instance")[0]
    assert (instance.get("id"), instance.get("version")) == (form_id, VERSIONS[form_id])
    assert compiled.media == MEDIA[form_id]
    assert document.find(f".//{XF}bind[@nodeset='/data/meta/instanceID']").get(
        "{http://openrosa.org/javarosa}preload") == "uid"
    languages = {t.get("lang") for t in document.iter(f"{XF}translation")}
    assert languages == {"English (en)", "Bangla (bn)"}


def test_compiling_is_deterministic_so_the_form_hash_is_stable():
    first = xform_compile(xlsx_bytes("imis_building_survey"), form_id="imis_building_survey")
    second = xform_compile(xlsx_bytes("imis_building_survey"), form_id="imis_building_survey")

    assert first.md5 == second.md5 == form_compiled("imis_building_survey").md5


def test_the_xlsx_files_are_what_the_build_script_writes():
    assert all(xlsx_path(form_id).exists() for form_id in FORMS)
    assert xlsx_outdated() == []


def test_picking_a_registered_building_prefills_its_questions():
    document = etree.fromstring(form_compiled("imis_building_survey").xml)

    setvalues = {e.get("ref"): e.get("value") for e in document.iter(f"{XF}setvalue")
                 if e.get("event") == "xforms-value-changed"}

    assert setvalues["/data/floors"] == "instance('buildings')/root/item[name= /data/building ]/floors"
    assert "/data/sanitation_system" in setvalues and "/data/holding_id" in setvalues


def test_the_choice_lists_carry_the_registry_values():
    from imis.tenant_apps.registry.models import Building

    document = etree.fromstring(form_compiled("imis_building_survey").xml)
    sanitation = [item.findtext(f"{XF}name") for item in document.find(f".//{XF}instance[@id='sanitation']")
                  .iter(f"{XF}item")]

    assert sanitation == list(Building.SanitationSystem.values)
