"""Demo registry: a synthetic city at the published scale (synthetic.py), loaded with COPY in one transaction."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterator

from django.db import connection, models, transaction
from django.utils import timezone

from imis.platform.demo import demo_step
from imis.tenant_apps.audit.models import AuditEntry

from .models import (
    Building,
    Containment,
    Drain,
    Holding,
    LowIncomeCommunity,
    MunicipalBoundary,
    Owner,
    Road,
    Sewer,
    TreatmentPlant,
    Ward,
    WaterBody,
    WaterLine,
    WaterloggingArea,
)
from .synthetic import City, Layer, city_generate

LAYER_MODELS: dict[str, type[models.Model]] = {
    "ward": Ward,
    "municipalboundary": MunicipalBoundary,
    "road": Road,
    "treatmentplant": TreatmentPlant,
    "holding": Holding,
    "owner": Owner,
    "building": Building,
    "containment": Containment,
    "containment_buildings": Containment.buildings.through,
    "drain": Drain,
    "sewer": Sewer,
    "waterline": WaterLine,
    "waterbody": WaterBody,
    "waterloggingarea": WaterloggingArea,
    "lowincomecommunity": LowIncomeCommunity,
}
EMPTYING_DUE_HOOK = ("imis.tenant_apps.registry.services", "containments_refresh_emptying_due")


@demo_step("registry.city", order=10)
def demo_city(*, municipality, figures, scale, seed, log):
    if Building.objects.exists() or Ward.objects.exists():
        log(f"  {municipality.slug}: registry present, left as it is")
        return
    started = time.perf_counter()
    city = city_generate(figures, scale=scale, seed=seed)
    generated = time.perf_counter()
    with transaction.atomic():
        counts = city_load(city)
        tables_analyze(city)
        emptying_due_refresh()
        audit_summaries(counts)
    done = time.perf_counter()
    log(f"  {municipality.slug}: {counts['building']:,} buildings, {counts.get('containment', 0):,} containments, "
        f"{counts['road']:,} roads, {counts['ward']} wards; generated in {generated - started:.1f}s, "
        f"loaded in {done - generated:.1f}s")


def city_load(city: City) -> dict[str, int]:
    """COPY every layer into the current schema (callers hold the transaction). Returns rows per layer."""
    now = timezone.now()
    first_ids: dict[str, int] = {}
    with connection.cursor() as cursor:
        for key, layer in city.layers.items():
            model = LAYER_MODELS[key]
            first_ids[key] = ids_reserve(cursor, model, len(layer.rows))
            columns, rows = layer_rows(layer, model, first_ids, now)
            copy_rows(cursor, model, columns, rows)
    return {key: len(layer.rows) for key, layer in city.layers.items()}


def qualified(model: type[models.Model]) -> str:
    return f'"{connection.schema_name}"."{model._meta.db_table}"'


def ids_reserve(cursor, model: type[models.Model], count: int) -> int:
    """The first of `count` consecutive ids taken from the table's sequence (rows then need no RETURNING)."""
    if count == 0:
        return 0
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [qualified(model)])
    (sequence,) = cursor.fetchone()
    cursor.execute("SELECT setval(%s, nextval(%s) + %s - 1)", [sequence, sequence, count])
    (last,) = cursor.fetchone()
    return last - count + 1


def layer_rows(layer: Layer, model: type[models.Model], first_ids: dict[str, int],
               now) -> tuple[list[str], Iterator[tuple]]:
    """Column names and rows with ids: row indices become ids, timestamps are added where the model has them."""
    known = {field.column for field in model._meta.local_concrete_fields}
    unknown = set(layer.columns) - known
    if unknown:
        raise ValueError(f"{model._meta.label}: the generator writes unknown columns {sorted(unknown)}")
    stamps = [name for name in ("created", "updated") if name in known]
    columns = ["id", *layer.columns, *stamps]
    references = [(layer.columns.index(column), first_ids[target]) for column, target in layer.refs.items()]
    first = first_ids[layer.key]
    extra = (now,) * len(stamps)

    def rows() -> Iterator[tuple]:
        for index, row in enumerate(layer.rows):
            if references:
                row = list(row)
                for position, base in references:
                    if row[position] is not None:
                        row[position] += base
            yield (first + index, *row, *extra)

    return columns, rows()


def copy_rows(cursor, model: type[models.Model], columns: list[str], rows: Iterator[tuple]) -> None:
    names = ", ".join(f'"{column}"' for column in columns)
    with cursor.copy(f"COPY {qualified(model)} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def tables_analyze(city: City) -> None:
    with connection.cursor() as cursor:
        for key in city.layers:
            cursor.execute(f"ANALYZE {qualified(LAYER_MODELS[key])}")


def emptying_due_refresh() -> None:
    """Let the registry's service compute next_emptying_due, once it exists (the demo leaves it NULL)."""
    module_name, function_name = EMPTYING_DUE_HOOK
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        return
    refresh: Callable | None = getattr(module, function_name, None)
    if callable(refresh):
        refresh()


def audit_summaries(counts: dict[str, int]) -> None:
    """One audit entry per layer, not per feature."""
    AuditEntry.objects.bulk_create([
        AuditEntry(action=AuditEntry.Action.IMPORT, model=LAYER_MODELS[key]._meta.label_lower, object_id="*",
                   object_label=f"demo city: {count:,} rows", actor_id=None, actor_label="seed_demo")
        for key, count in counts.items() if count
    ])
