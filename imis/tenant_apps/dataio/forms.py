"""Forms of the Data section: upload, column mapping with options, export."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .exporting import EXPORT_FORMATS
from .layers import LayerSpec, layer_specs_for
from .models import DataImport
from .reading import Source

PACKAGE = "__package__"
NOT_IN_FILE = ""
CRS_CHOICES = [
    ("", _("— choose —")),
    ("4326", _("EPSG:4326 — WGS 84 longitude/latitude (GPS, Google Earth)")),
    ("9678", _("EPSG:9678 — BUTM 2010 (Bangladesh Transverse Mercator)")),
    ("3106", _("EPSG:3106 — Gulshan 303 / Bangladesh TM")),
    ("32645", _("EPSG:32645 — WGS 84 / UTM zone 45N")),
    ("32646", _("EPSG:32646 — WGS 84 / UTM zone 46N")),
    ("3857", _("EPSG:3857 — Web Mercator")),
    ("other", _("Another EPSG code …")),
]


class UploadForm(forms.Form):
    layer = forms.ChoiceField(label=_("Import into"))
    file = forms.FileField(
        label=_("File"),
        help_text=_("GeoPackage, zipped Shapefile (.shp, .shx, .dbf and .prj in one zip), GeoJSON, KML or CSV "
                    "(with a WKT column or longitude and latitude columns)."),
    )

    def __init__(self, *args, municipality, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(spec.name, spec.title) for spec in layer_specs_for(municipality)]
        choices.append((PACKAGE, _("Several layers at once (a GeoPackage with one layer per registry layer)")))
        self.fields["layer"].choices = choices
        self.fields["file"].widget.attrs["accept"] = ".gpkg,.zip,.geojson,.json,.kml,.kmz,.csv,.txt,.tsv"


class ImportSetupForm(forms.Form):
    """The mapping of a file's columns to our fields (auto-filled), and how to import."""

    mode = forms.ChoiceField(label=_("Records"), choices=DataImport.Mode.choices, initial=DataImport.Mode.UPSERT,
                             widget=forms.RadioSelect)
    skip_bad_rows = forms.BooleanField(
        label=_("Skip bad rows"), required=False,
        help_text=_("Import the good rows and list the bad ones. Without this, one bad row stops the whole import "
                    "and nothing is written."))
    srid = forms.ChoiceField(label=_("Coordinate system of the file"), choices=CRS_CHOICES, required=False)
    srid_other = forms.IntegerField(label=_("Another EPSG code"), required=False, min_value=1, max_value=999999,
                                    help_text=_("Only when the list above does not have it."))
    swap_axes = forms.BooleanField(
        label=_("Swap latitude and longitude"), required=False,
        help_text=_("For files that list latitude before longitude."))

    def __init__(self, *args, source: Source, spec: LayerSpec | None, specs: list[LayerSpec], suggestions: dict,
                 needs_crs: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.source = source
        self.spec = spec
        self.needs_crs = needs_crs
        self.layer_rows = []
        if spec is not None:
            described = source.layers[0] if len(source.layers) == 1 else source.layer(next(iter(suggestions)))
            self.source_layer = described.name
            mapping = suggestions.get(described.name, {}).get("mapping", {})
            column_choices = [(NOT_IN_FILE, _("— not in the file —"))] + [(c, c) for c in described.columns]
            for f in spec.importable:
                name = f"map__{f.name}"
                self.fields[name] = forms.ChoiceField(label=f.name, choices=column_choices, required=f.required,
                                                      initial=mapping.get(f.name, NOT_IN_FILE))
            if source.format == "csv" and spec.geometry:
                guess = described.csv_geometry
                for key, label in (("wkt", _("Geometry as WKT")), ("x", _("Longitude (or x)")),
                                   ("y", _("Latitude (or y)"))):
                    self.fields[f"csv_{key}"] = forms.ChoiceField(label=label, choices=column_choices,
                                                                  required=False, initial=guess.get(key, ""))
        else:
            self.source_layer = None
            targets = [(NOT_IN_FILE, _("— do not import —"))] + [(s.name, s.title) for s in specs]
            for index, described in enumerate(source.layers):
                self.fields[f"target__{index}"] = forms.ChoiceField(
                    label=described.name, choices=targets, required=False,
                    initial=suggestions.get(described.name, {}).get("target", ""))
        if not needs_crs:
            self.fields["srid"].help_text = _("Only to override the coordinate system the file states.")
        for name, field in self.fields.items():
            if name.startswith(("map__", "target__")):
                field.widget.attrs["class"] = "form-select form-select-sm"

    def mapping_fields(self):
        return [self[name] for name in self.fields if name.startswith("map__")]

    def csv_fields(self):
        return [self[name] for name in self.fields if name.startswith("csv_")]

    def target_fields(self):
        return [self[name] for name in self.fields if name.startswith("target__")]

    def clean(self):
        data = super().clean()
        srid = data.get("srid")
        if srid == "other":
            if not data.get("srid_other"):
                self.add_error("srid_other", _("Enter the EPSG code."))
            data["srid_value"] = data.get("srid_other")
        else:
            data["srid_value"] = int(srid) if srid else None
        if self.needs_crs and not data.get("srid_value"):
            self.add_error("srid", _("The file does not say which coordinate system it uses: choose it."))
        if self.spec is not None and self.source.format == "csv" and self.spec.geometry:
            if not (data.get("csv_wkt") or (data.get("csv_x") and data.get("csv_y"))):
                self.add_error("csv_wkt", _("Choose the WKT column, or the longitude and latitude columns."))
        if self.spec is not None and self.spec.key and not data.get(f"map__{self.spec.key}"):
            self.add_error(f"map__{self.spec.key}", _("This column identifies each record: choose it."))
        return data

    def layers(self) -> dict[str, dict]:
        data = self.cleaned_data
        if self.spec is not None:
            mapping = {name.removeprefix("map__"): value for name, value in data.items()
                       if name.startswith("map__") and value}
            return {self.source_layer: {"target": self.spec.name, "mapping": mapping}}
        chosen = {}
        for index, described in enumerate(self.source.layers):
            target = data.get(f"target__{index}")
            if target:
                chosen[described.name] = {"target": target, "mapping": None}
        return chosen

    def csv_geometry(self) -> dict | None:
        if self.spec is None or self.source.format != "csv" or not self.spec.geometry:
            return None
        data = self.cleaned_data
        if data.get("csv_wkt"):
            return {"wkt": data["csv_wkt"]}
        return {"x": data.get("csv_x"), "y": data.get("csv_y")}


class ExportForm(forms.Form):
    layer = forms.ChoiceField(label=_("Layer"))
    area = forms.ChoiceField(label=_("Area"), choices=[("all", _("The whole municipality")), ("ward", _("One ward")),
                                                       ("polygon", _("A drawn area (GeoJSON polygon)"))],
                             initial="all", widget=forms.RadioSelect)
    ward = forms.TypedChoiceField(label=_("Ward"), coerce=int, required=False, empty_value=None)
    polygon = forms.CharField(
        label=_("Area as GeoJSON"), required=False, widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_("Paste a GeoJSON polygon (drawn in QGIS, geojson.io or the map)."))
    format = forms.ChoiceField(label=_("Format"), choices=[(f.code, f.label) for f in EXPORT_FORMATS.values()],
                               initial="gpkg", widget=forms.RadioSelect)

    def __init__(self, *args, municipality, wards: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["layer"].choices = [(spec.name, spec.title) for spec in layer_specs_for(municipality)]
        self.fields["ward"].choices = [("", _("— choose —"))] + [(number, name) for number, name in wards]

    def clean(self):
        data = super().clean()
        if data.get("area") == "ward" and data.get("ward") is None:
            self.add_error("ward", _("Choose the ward."))
        if data.get("area") == "polygon" and not (data.get("polygon") or "").strip():
            self.add_error("polygon", _("Paste the area as GeoJSON."))
        return data
