"""Writes the field-survey XLSForms (forms/*.xlsx) from the definitions below.

The .xlsx files are what a GIS officer opens, and what pyxform compiles to XForms at run time
(`surveys.xforms.form_compiled`). They are built, not typed, so the choice lists always carry the registry's
own values (Building.FunctionalUse, Containment.Type, ...). Rebuild after changing a definition and bump the
form's VERSION (devices fetch a form again only when its version or hash changes):

    python -m imis.tenant_apps.surveys.forms.build_xlsforms            # writes the .xlsx files
    python -m imis.tenant_apps.surveys.forms.build_xlsforms --check    # fails if a file is out of date

Choice lists that differ per municipality (wards, buildings, roads, providers, vehicles, work orders) are not
here: the forms read them from CSV files in their manifest (`select_one_from_file wards.csv`), which the server
fills for each municipality and user (surveys.media).
"""

from __future__ import annotations

import sys
from pathlib import Path

FORMS_DIR = Path(__file__).resolve().parent
EN, BN = "English (en)", "Bangla (bn)"
LABEL_EN, LABEL_BN = f"label::{EN}", f"label::{BN}"
HINT_EN, HINT_BN = f"hint::{EN}", f"hint::{BN}"
MESSAGE_EN, MESSAGE_BN = f"constraint_message::{EN}", f"constraint_message::{BN}"

# form id -> version (yyyymmddNN). A submission must carry the version the server has.
VERSIONS = {
    "imis_building_survey": "2026112801",
    "imis_containment_survey": "2026112801",
    "imis_connection_survey": "2026112801",
    "imis_emptying_record": "2026112801",
    "imis_disposal_log": "2026112801",
}

# Bangla labels of the registry's choices (the English ones come from the models).
BANGLA_CHOICES = {
    "structure": {"pucca": "পাকা (ইট/কংক্রিট)", "semi_pucca": "আধা-পাকা", "kutcha": "কাঁচা", "other": "অন্যান্য"},
    "use": {"residential": "আবাসিক", "commercial": "বাণিজ্যিক", "mixed": "মিশ্র", "industrial": "শিল্প",
            "institutional": "প্রাতিষ্ঠানিক", "educational": "শিক্ষা", "health": "স্বাস্থ্য", "religious": "ধর্মীয়",
            "government": "সরকারি"},
    "water": {"municipal": "পৌর পানি সরবরাহ", "tube_well": "নলকূপ", "deep_tube_well": "গভীর নলকূপ",
              "pond": "পুকুর / ভূ-উপরিস্থ পানি", "other": "অন্যান্য"},
    "sanitation": {"sewer": "পয়ঃনালা (সুয়ার)", "drain": "ড্রেন", "septic_tank": "সেপটিক ট্যাংক",
                   "pit": "পিট / হোল্ডিং ট্যাংক", "onsite_treatment": "অনসাইট পরিশোধন", "composting": "কম্পোস্টিং টয়লেট",
                   "water_body": "জলাশয়", "open_ground": "খোলা মাঠ", "community_toilet": "কমিউনিটি টয়লেট",
                   "open_defecation": "খোলা জায়গায় মলত্যাগ", "shared_septic_tank": "যৌথ সেপটিক ট্যাংক",
                   "shared_toilet": "যৌথ টয়লেট"},
    "containment_type": {"septic_tank": "সেপটিক ট্যাংক", "lined_pit": "বাঁধানো পিট", "unlined_pit": "কাঁচা পিট",
                         "holding_tank": "হোল্ডিং ট্যাংক"},
    "outlet": {"soak_pit": "সোক পিট", "drain": "ড্রেন", "sewer": "পয়ঃনালা (সুয়ার)", "open_ground": "খোলা মাঠ",
               "water_body": "জলাশয়", "none": "কোনোটি নয়"},
}


def question(type_: str, name: str, en: str = "", bn: str = "", **columns) -> dict:
    row = {"type": type_, "name": name}
    if en:
        row[LABEL_EN] = en
        row[LABEL_BN] = bn or en
    hint = columns.pop("hint", None)
    if hint:
        row[HINT_EN], row[HINT_BN] = hint
    message = columns.pop("message", None)
    if message:
        row[MESSAGE_EN], row[MESSAGE_BN] = message
    row.update({key: value for key, value in columns.items() if value not in (None, "")})
    return row


def prefilled(type_: str, name: str, en: str, bn: str, *, list_name: str, key: str, column: str | None = None,
              **columns) -> dict:
    """A question that takes the register's current value when the surveyor picks the record (setvalue)."""
    return question(type_, name, en, bn, calculation=f"instance('{list_name}')/root/item[name=${{{key}}}]/{column or name}",
                    trigger=f"${{{key}}}", **columns)


def metadata() -> list[dict]:
    return [question("start", "start"), question("end", "end"), question("deviceid", "deviceid")]


def choices_from(list_name: str, text_choices) -> list[dict]:
    from django.utils import translation

    rows = []
    with translation.override("en"):
        for value, label in text_choices.choices:
            rows.append({"list_name": list_name, "name": value, LABEL_EN: str(label),
                         LABEL_BN: BANGLA_CHOICES[list_name][value]})
    return rows


def choices(list_name: str, *items: tuple[str, str, str], **extra) -> list[dict]:
    return [{"list_name": list_name, "name": name, LABEL_EN: en, LABEL_BN: bn, **extra} for name, en, bn in items]


YES_NO = choices("yes_no", ("yes", "Yes", "হ্যাঁ"), ("no", "No", "না"))
YES_NO_UNKNOWN = choices("yes_no_unknown", ("yes", "Yes", "হ্যাঁ"), ("no", "No", "না"),
                         ("unknown", "Not known", "জানা নেই"))
NON_NEGATIVE = {"constraint": ". >= 0", "message": ("Cannot be negative.", "ঋণাত্মক হতে পারে না।")}
POSITIVE_DIMENSION = {"constraint": ". > 0 and . < 50",
                      "message": ("Between 0 and 50 metres.", "০ থেকে ৫০ মিটারের মধ্যে হতে হবে।")}
YEAR = {"constraint": ". >= 1800 and . <= 2100", "message": ("A year such as 1998.", "যেমন ১৯৯৮।")}


def settings_row(form_id: str, title: str, instance_name: str) -> list[dict]:
    return [{"form_title": title, "form_id": form_id, "version": VERSIONS[form_id], "default_language": EN,
             "instance_name": instance_name}]


# --- the forms ---------------------------------------------------------------------------------------

def building_survey() -> dict:
    from imis.tenant_apps.registry.models import Building

    key = {"list_name": "buildings", "key": "building"}
    survey = [
        *metadata(),
        question("select_one mode", "mode", "Is this building already in the register?", "ভবনটি কি রেজিস্টারে আছে?",
                 required="yes"),
        question("select_one_from_file wards.csv", "ward", "Ward", "ওয়ার্ড", required="yes", appearance="autocomplete"),
        question("select_one_from_file buildings.csv", "building", "Building (BIN)", "ভবন (বিআইএন)", required="yes",
                 relevant="${mode} = 'update'", choice_filter="ward = ${ward}", appearance="autocomplete",
                 hint=("Type part of the BIN or the holding ID.", "বিআইএন বা হোল্ডিং নম্বরের অংশ লিখুন।")),
        question("calculate", "base_version", calculation="instance('buildings')/root/item[name=${building}]/__version"),
        question("text", "new_bin", "BIN of the new building", "নতুন ভবনের বিআইএন", required="yes",
                 relevant="${mode} = 'new'", constraint="regex(., '^[A-Za-z0-9-]{1,40}$')",
                 message=("Letters, digits and dashes only.", "শুধু অক্ষর, সংখ্যা ও ড্যাশ।")),
        question("select_one geometry", "geometry", "How will you record where it is?", "অবস্থান কীভাবে নেবেন?",
                 required="yes", choice_filter="for_mode = 'any' or for_mode = ${mode}"),
        question("geoshape", "footprint", "Outline of the building", "ভবনের সীমারেখা", required="yes",
                 relevant="${geometry} = 'shape'",
                 hint=("Walk around the building or tap its corners on the map.",
                       "ভবনের চারপাশে হাঁটুন অথবা মানচিত্রে কোণগুলো চাপুন।")),
        question("geopoint", "location", "Location of the building", "ভবনের অবস্থান", required="yes",
                 relevant="${geometry} = 'point'"),
        prefilled("text", "holding_id", "Holding ID", "হোল্ডিং নম্বর", **key,
                  hint=("As printed on the holding tax bill; leave empty if not known.",
                        "হোল্ডিং করের বিলে যেমন লেখা; জানা না থাকলে খালি রাখুন।")),
        prefilled("select_one structure", "structure_type", "Structure", "কাঠামো", required="yes", **key),
        prefilled("integer", "floors", "Floors", "তলা", required="yes", constraint=". >= 1 and . <= 200",
                  message=("Between 1 and 200.", "১ থেকে ২০০।"), **key),
        prefilled("integer", "construction_year", "Year built", "নির্মাণের বছর", **YEAR, **key),
        prefilled("select_one use", "functional_use", "Use of the building", "ভবনের ব্যবহার", required="yes", **key),
        prefilled("integer", "households", "Households", "খানা (পরিবার)", required="yes", **NON_NEGATIVE, **key),
        prefilled("integer", "population_male", "People: male", "মানুষ: পুরুষ", required="yes", **NON_NEGATIVE, **key),
        prefilled("integer", "population_female", "People: female", "মানুষ: নারী", required="yes", **NON_NEGATIVE,
                  **key),
        prefilled("integer", "population_other", "People: other", "মানুষ: অন্যান্য", **NON_NEGATIVE, **key),
        prefilled("integer", "population_differently_abled", "Differently-abled people", "প্রতিবন্ধী মানুষ",
                  **NON_NEGATIVE, **key),
        prefilled("select_one yes_no", "is_low_income", "Low-income household(s)?", "নিম্ন আয়ের পরিবার?",
                  required="yes", **key),
        prefilled("select_one water", "water_source", "Main water source", "পানির প্রধান উৎস", **key),
        prefilled("text", "water_customer_id", "Water customer ID", "পানি গ্রাহক নম্বর",
                  relevant="${water_source} = 'municipal'", **key),
        prefilled("select_one yes_no", "has_toilet", "Does the building have a toilet?", "ভবনে কি টয়লেট আছে?",
                  required="yes", **key),
        prefilled("integer", "toilet_count", "Number of toilets", "টয়লেটের সংখ্যা", required="yes",
                  relevant="${has_toilet} = 'yes'", constraint=". >= 1 and . <= 500",
                  message=("At least one.", "অন্তত একটি।"), **key),
        prefilled("select_one yes_no", "has_shared_toilet", "Toilet shared with other buildings?",
                  "টয়লেট কি অন্য ভবনের সাথে যৌথ?", relevant="${has_toilet} = 'yes'", **key),
        prefilled("select_one sanitation", "sanitation_system", "Where does the toilet discharge?",
                  "টয়লেটের বর্জ্য কোথায় যায়?", required="yes", **key),
        prefilled("select_one yes_no_unknown", "is_desludging_vehicle_accessible",
                  "Can a desludging truck reach the containment?", "খালি করার গাড়ি কি কনটেইনমেন্ট পর্যন্ত যেতে পারে?", **key),
        question("select_one_from_file roads.csv", "access_road", "Road the building is reached from",
                 "যে রাস্তা দিয়ে ভবনে যাওয়া যায়", appearance="autocomplete"),
        question("image", "photo", "Photo of the building (front)", "ভবনের ছবি (সামনে থেকে)", parameters="max-pixels=1600"),
        question("text", "notes", "Notes for the reviewer", "পর্যালোচকের জন্য মন্তব্য", appearance="multiline"),
    ]
    return {
        "survey": survey,
        "choices": [
            *choices("mode", ("update", "Yes – update it", "হ্যাঁ – হালনাগাদ করুন"),
                     ("new", "No – it is a new building", "না – এটি নতুন ভবন")),
            *choices("geometry", ("shape", "Outline (footprint)", "সীমারেখা (ফুটপ্রিন্ট)"),
                     ("point", "One point at the building", "ভবনে একটি বিন্দু"), for_mode="any"),
            *choices("geometry", ("keep", "Keep the outline in the register", "রেজিস্টারের সীমারেখা রাখুন"),
                     for_mode="update"),
            *choices_from("structure", Building.StructureType),
            *choices_from("use", Building.FunctionalUse),
            *choices_from("water", Building.WaterSource),
            *choices_from("sanitation", Building.SanitationSystem),
            *YES_NO, *YES_NO_UNKNOWN,
        ],
        "settings": settings_row("imis_building_survey", "Building survey",
                                 "if(${mode} = 'update', ${building}, ${new_bin})"),
    }


def containment_survey() -> dict:
    from imis.tenant_apps.registry.models import Containment

    key = {"list_name": "containments", "key": "containment"}
    survey = [
        *metadata(),
        question("select_one mode", "mode", "Is this containment already in the register?",
                 "কনটেইনমেন্টটি কি রেজিস্টারে আছে?", required="yes"),
        question("select_one_from_file wards.csv", "ward", "Ward", "ওয়ার্ড", required="yes", appearance="autocomplete"),
        question("select_one_from_file containments.csv", "containment", "Containment (code)", "কনটেইনমেন্ট (কোড)",
                 required="yes", relevant="${mode} = 'update'", choice_filter="ward = ${ward}",
                 appearance="autocomplete"),
        question("calculate", "base_version",
                 calculation="instance('containments')/root/item[name=${containment}]/__version"),
        question("text", "new_code", "Code of the new containment", "নতুন কনটেইনমেন্টের কোড", required="yes",
                 relevant="${mode} = 'new'", constraint="regex(., '^[A-Za-z0-9-]{1,40}$')",
                 message=("Letters, digits and dashes only.", "শুধু অক্ষর, সংখ্যা ও ড্যাশ।")),
        prefilled("select_multiple_from_file buildings.csv", "served_buildings", "Buildings it serves",
                  "যে ভবনগুলোর জন্য ব্যবহৃত", column="buildings", required="yes", choice_filter="ward = ${ward}",
                  appearance="autocomplete", **key),
        prefilled("select_one containment_type", "type", "Type", "ধরন", required="yes", **key),
        prefilled("select_one outlet", "outlet", "Outlet (where the effluent goes)", "নির্গমন পথ", required="yes",
                  **key),
        prefilled("decimal", "length_m", "Length (m)", "দৈর্ঘ্য (মিটার)", **POSITIVE_DIMENSION, **key),
        prefilled("decimal", "width_m", "Width (m)", "প্রস্থ (মিটার)", **POSITIVE_DIMENSION, **key),
        prefilled("decimal", "diameter_m", "Diameter (m), for round pits", "ব্যাস (মিটার), গোল পিটের জন্য",
                  **POSITIVE_DIMENSION, **key),
        prefilled("decimal", "depth_m", "Depth (m)", "গভীরতা (মিটার)", **POSITIVE_DIMENSION, **key),
        prefilled("integer", "construction_year", "Year built", "নির্মাণের বছর", **YEAR, **key),
        prefilled("date", "last_emptied_on", "Last emptied (if known)", "সর্বশেষ খালি করা হয়েছে (জানা থাকলে)",
                  constraint=". <= today()", message=("Not in the future.", "ভবিষ্যতের তারিখ নয়।"), **key),
        question("geopoint", "location", "Location (stand at the lid)", "অবস্থান (ঢাকনার পাশে দাঁড়ান)", required="yes"),
        question("image", "photo", "Photo of the containment", "কনটেইনমেন্টের ছবি", parameters="max-pixels=1600"),
        question("text", "notes", "Notes for the reviewer", "পর্যালোচকের জন্য মন্তব্য", appearance="multiline"),
    ]
    return {
        "survey": survey,
        "choices": [
            *choices("mode", ("update", "Yes – update it", "হ্যাঁ – হালনাগাদ করুন"),
                     ("new", "No – it is a new containment", "না – এটি নতুন")),
            *choices_from("containment_type", Containment.Type),
            *choices_from("outlet", Containment.Outlet),
        ],
        "settings": settings_row("imis_containment_survey", "Containment survey",
                                 "if(${mode} = 'update', ${containment}, ${new_code})"),
    }


def connection_survey() -> dict:
    survey = [
        *metadata(),
        question("select_one_from_file services.csv", "service", "Connection to", "সংযোগের ধরন", required="yes"),
        question("select_one_from_file wards.csv", "ward", "Ward", "ওয়ার্ড", required="yes", appearance="autocomplete"),
        question("select_one_from_file buildings.csv", "building", "Building (BIN)", "ভবন (বিআইএন)", required="yes",
                 choice_filter="ward = ${ward}", appearance="autocomplete"),
        question("select_one yes_no", "is_connected", "Is the building connected?", "ভবনে কি সংযোগ আছে?",
                 required="yes"),
        question("date", "connected_on", "Connected since (if known)", "সংযোগের তারিখ (জানা থাকলে)",
                 relevant="${is_connected} = 'yes'", constraint=". <= today()",
                 message=("Not in the future.", "ভবিষ্যতের তারিখ নয়।")),
        question("text", "sewer_code", "Sewer line code (if marked)", "সুয়ার লাইনের কোড (চিহ্ন থাকলে)",
                 relevant="${service} = 'sewer'"),
        question("text", "water_customer_id", "Water customer ID", "পানি গ্রাহক নম্বর",
                 relevant="${service} = 'water'"),
        question("text", "meter_number", "Meter number", "মিটার নম্বর", relevant="${service} = 'water'"),
        question("decimal", "pipe_diameter_mm", "Pipe diameter (mm)", "পাইপের ব্যাস (মিমি)",
                 constraint=". > 0 and . < 2000", message=("Between 0 and 2000 mm.", "০ থেকে ২০০০ মিমি।")),
        question("select_one_from_file roads.csv", "road", "Road the connection runs along",
                 "যে রাস্তা বরাবর সংযোগ", appearance="autocomplete"),
        question("geopoint", "location", "Connection point", "সংযোগের স্থান", required="yes"),
        question("image", "photo", "Photo of the connection", "সংযোগের ছবি", parameters="max-pixels=1600"),
        question("text", "notes", "Notes for the reviewer", "পর্যালোচকের জন্য মন্তব্য", appearance="multiline"),
    ]
    return {"survey": survey, "choices": [*YES_NO],
            "settings": settings_row("imis_connection_survey", "Sewer and water connection survey",
                                     "concat(${service}, ' ', ${building})")}


def emptying_record() -> dict:
    survey = [
        *metadata(),
        question("select_one_from_file applications.csv", "application", "Work order", "কাজের আদেশ", required="yes",
                 appearance="autocomplete"),
        question("date", "emptied_on", "Emptied on", "খালি করার তারিখ", required="yes", default="today()",
                 constraint=". <= today()", message=("Not in the future.", "ভবিষ্যতের তারিখ নয়।")),
        question("time", "started_at", "Started at", "শুরুর সময়"),
        question("time", "ended_at", "Finished at", "শেষের সময়",
                 constraint="${started_at} = '' or . >= ${started_at}",
                 message=("The end is before the start.", "শেষের সময় শুরুর আগে।")),
        prefilled("select_one_from_file vehicles.csv", "vehicle", "Vehicle", "গাড়ি", list_name="applications",
                  key="application", required="yes"),
        question("decimal", "volume_m3", "Sludge emptied (m³)", "খালি করা বর্জ্য (ঘনমিটার)", required="yes",
                 constraint=". > 0 and . < 100", message=("Between 0 and 100 m³.", "০ থেকে ১০০ ঘনমিটার।")),
        question("integer", "trips", "Trips", "ট্রিপ", required="yes", default="1", constraint=". >= 1 and . <= 50",
                 message=("At least one trip.", "অন্তত একটি ট্রিপ।")),
        question("select_one yes_no", "is_ppe_worn", "Did the whole crew wear PPE?",
                 "সব কর্মী কি সুরক্ষা সরঞ্জাম (পিপিই) পরেছিলেন?", required="yes"),
        question("text", "receipt_number", "Receipt number", "রসিদ নম্বর"),
        question("decimal", "cost", "Amount charged (BDT)", "আদায়কৃত টাকা", **NON_NEGATIVE),
        question("geopoint", "location", "Where the emptying took place", "খালি করার স্থান"),
        question("image", "photo", "Photo of the emptying", "খালি করার ছবি", required="yes",
                 parameters="max-pixels=1600"),
        question("image", "receipt_photo", "Photo of the receipt", "রসিদের ছবি", parameters="max-pixels=1600"),
        question("text", "notes", "Notes", "মন্তব্য", appearance="multiline"),
    ]
    return {"survey": survey, "choices": [*YES_NO],
            "settings": settings_row("imis_emptying_record", "Emptying record", "${application}")}


def disposal_log() -> dict:
    survey = [
        *metadata(),
        question("select_one_from_file plants.csv", "treatment_plant", "Treatment plant", "পরিশোধনাগার",
                 required="yes"),
        question("select_one yes_no", "is_registered_vehicle", "Is the vehicle registered with the municipality?",
                 "গাড়িটি কি পৌরসভায় নিবন্ধিত?", required="yes"),
        question("select_one_from_file vehicles.csv", "vehicle", "Vehicle", "গাড়ি", required="yes",
                 relevant="${is_registered_vehicle} = 'yes'", appearance="autocomplete"),
        question("text", "unregistered_vehicle", "Registration number of the vehicle", "গাড়ির নিবন্ধন নম্বর",
                 required="yes", relevant="${is_registered_vehicle} = 'no'"),
        question("dateTime", "arrived_at", "Arrived at", "আগমনের সময়", required="yes", default="now()"),
        question("dateTime", "exited_at", "Left at", "প্রস্থানের সময়",
                 constraint="${arrived_at} = '' or . >= ${arrived_at}",
                 message=("The vehicle cannot leave before it arrived.", "আসার আগে গাড়ি চলে যেতে পারে না।")),
        question("decimal", "volume_received_m3", "Sludge received (m³)", "গৃহীত বর্জ্য (ঘনমিটার)", required="yes",
                 constraint=". > 0 and . < 200", message=("Between 0 and 200 m³.", "০ থেকে ২০০ ঘনমিটার।")),
        question("select_multiple_from_file applications.csv", "applications", "Work orders whose sludge it brings",
                 "যে কাজের আদেশের বর্জ্য এনেছে", relevant="${is_registered_vehicle} = 'yes'",
                 choice_filter="vehicle = ${vehicle}"),
        question("image", "photo", "Photo of the vehicle at the gate", "গেটে গাড়ির ছবি", parameters="max-pixels=1600"),
        question("text", "notes", "Notes", "মন্তব্য", appearance="multiline"),
    ]
    return {"survey": survey, "choices": [*YES_NO],
            "settings": settings_row("imis_disposal_log", "Disposal log (plant gate)",
                                     "if(${is_registered_vehicle} = 'yes', ${vehicle}, ${unregistered_vehicle})")}


DEFINITIONS = {
    "imis_building_survey": building_survey,
    "imis_containment_survey": containment_survey,
    "imis_connection_survey": connection_survey,
    "imis_emptying_record": emptying_record,
    "imis_disposal_log": disposal_log,
}


# --- writing ---------------------------------------------------------------------------------------------

def sheet_rows(rows: list[dict]) -> list[list[str]]:
    """Header + rows, columns in first-seen order (what openpyxl writes and reads back)."""
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    return [columns] + [[str(row.get(column, "")) for column in columns] for row in rows]


def workbook_rows(definition: dict) -> dict[str, list[list[str]]]:
    return {sheet: sheet_rows(rows) for sheet, rows in definition.items()}


def xlsx_path(form_id: str, directory: Path = FORMS_DIR) -> Path:
    return directory / f"{form_id}.xlsx"


def xlsx_write(form_id: str, directory: Path = FORMS_DIR) -> Path:
    import openpyxl
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for sheet, rows in workbook_rows(DEFINITIONS[form_id]()).items():
        worksheet = workbook.create_sheet(sheet)
        for row in rows:
            worksheet.append(row)
        for cell in worksheet[1]:
            cell.font = Font(bold=True)
        worksheet.freeze_panes = "A2"
    # A fixed timestamp keeps the file identical from one build to the next.
    import datetime

    fixed = datetime.datetime(2026, 1, 1)
    workbook.properties.created = workbook.properties.modified = fixed
    workbook.properties.creator = "IMIS build_xlsforms"
    path = xlsx_path(form_id, directory)
    workbook.save(path)
    return path


def xlsx_read_rows(path: Path) -> dict[str, list[list[str]]]:
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        return {sheet.title: [["" if value is None else str(value) for value in row]
                              for row in sheet.iter_rows(values_only=True)] for sheet in workbook.worksheets}
    finally:
        workbook.close()


def xlsx_outdated(directory: Path = FORMS_DIR) -> list[str]:
    """Form ids whose .xlsx is missing or differs from its definition here."""
    outdated = []
    for form_id, build in DEFINITIONS.items():
        path = xlsx_path(form_id, directory)
        if not path.exists() or xlsx_read_rows(path) != workbook_rows(build()):
            outdated.append(form_id)
    return outdated


def main(argv: list[str]) -> int:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imis.platform.settings.dev")
    django.setup()
    if "--check" in argv:
        outdated = xlsx_outdated()
        for form_id in outdated:
            print(f"{xlsx_path(form_id)} is out of date: run build_xlsforms")
        return 1 if outdated else 0
    for form_id in DEFINITIONS:
        print(f"wrote {xlsx_write(form_id)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
