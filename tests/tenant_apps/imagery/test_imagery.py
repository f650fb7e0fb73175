"""Imagery: a GeoTIFF made here over Khulna -> upload -> conversion job -> raster tiles inside, 404 outside,
cached; bad files refused with nothing left behind; roles; another municipality cannot read it."""

from __future__ import annotations

import io
from pathlib import Path

import morecantile
import numpy as np
import pytest
from django.core.cache import cache
from django_tenants.utils import tenant_context
from PIL import Image

from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.imagery import services, tiles
from imis.tenant_apps.imagery.models import Imagery
from imis.tenant_apps.jobs.models import Job
from imis.tenant_apps.jobs.services import job_progress_of
from tests.tenant_apps.registry.factories import ORIGIN

from .files import geotiff, geotiff_grey16, upload_of

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
INSIDE = WEB_MERCATOR.tile(ORIGIN[0], ORIGIN[1], 17)
OUTSIDE = WEB_MERCATOR.tile(ORIGIN[0] + 0.05, ORIGIN[1], 17)  # 5 km east: off the 400 m image


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def officer(world):
    return world.user("gis_officer", "khulna")


def _files(media_root: Path) -> list[Path]:
    return sorted(path for path in Path(media_root).rglob("*") if path.is_file())


def _upload(client, path: Path, name: str = "Drone survey"):
    with path.open("rb") as handle:
        return client.post("/imagery/upload/", {"name": name, "file": handle})


def _converted(world, officer, tmp_path) -> Imagery:
    """An image uploaded through the service and converted by the job's own function."""
    with tenant_context(world.khulna):
        imagery = services.imagery_upload(upload=upload_of(geotiff(tmp_path / "khulna.tif")), name="Drone survey",
                                          by=officer)
        return services.imagery_convert_run(job_id=imagery.job_id, imagery_id=imagery.pk)


def _tile_url(imagery: Imagery, tile) -> str:
    return f"/imagery/tiles/{imagery.pk}/{tile.z}/{tile.x}/{tile.y}.png"


def test_upload_is_converted_to_a_cog_and_served_as_tiles(world, officer, tenant_client, tmp_path, media_root):
    client = tenant_client(world.khulna, officer)
    response = _upload(client, geotiff(tmp_path / "khulna.tif"))
    assert response.status_code == 302 and response["Location"] == "/imagery/"
    with tenant_context(world.khulna):
        imagery = Imagery.objects.get()
        assert imagery.status == "processing" and imagery.kind == "upload" and imagery.job.kind == "imagery.convert"
        assert imagery.created_by_id == officer.pk and imagery.original_name == "khulna.tif"
        assert imagery.file.startswith(f"imagery/{world.khulna.schema_name}/")
        page = client.get("/imagery/")
        assert b"job-progress" in page.content and b"data-imagery-poll" in page.content  # the progress bar
        assert client.get("/imagery/poll/").status_code == 204  # still converting: the page stays

        imagery = services.imagery_convert_run(job_id=imagery.job_id, imagery_id=imagery.pk)
        job = Job.objects.get(pk=imagery.job_id)
        assert job.status == "succeeded" and job_progress_of(job)["percent"] == 100
        assert imagery.status == "ready" and imagery.version == 2
        assert _files(media_root) == [Path(media_root) / imagery.file]  # the source is gone, the COG stays
        assert imagery.file.endswith(".cog.tif")
        import rasterio

        with rasterio.open(Path(media_root) / imagery.file) as cog:
            assert cog.crs.to_epsg() == 3857 and cog.profile["tiled"]
        west, south, east, north = imagery.bounds.extent
        assert west < ORIGIN[0] < east and south < ORIGIN[1] < north
        assert 1.5 < imagery.resolution_m < 2.5  # 2 m pixels, measured on the ground
        assert imagery.min_zoom == 12 and imagery.max_zoom == 16  # 2.2 m Web Mercator pixels: zoom 16 (2.4 m) is enough
        assert AuditEntry.objects.filter(model="imagery.imagery", object_id=str(imagery.pk)).count() == 2
    done = client.get("/imagery/poll/")
    assert done.status_code == 200 and done["HX-Refresh"] == "true"  # converted: the page reloads itself
    assert b"data-imagery-poll" not in client.get("/imagery/").content

    sources = client.get("/imagery/sources.json")
    assert sources.status_code == 200
    [source] = sources.json()
    assert source == {"id": imagery.pk, "name": "Drone survey",
                      "tiles": [f"http://{world.khulna.get_primary_domain().domain}/imagery/tiles/{imagery.pk}"
                                "/{z}/{x}/{y}.png"],
                      "attribution": "", "bounds": pytest.approx(list(imagery.bounds.extent)),
                      "minzoom": imagery.min_zoom, "maxzoom": imagery.max_zoom, "kind": "upload"}

    inside = client.get(_tile_url(imagery, INSIDE))
    assert inside.status_code == 200 and inside["Content-Type"] == "image/png"
    assert inside["Cache-Control"] == "private, no-cache" and inside["ETag"]
    png = Image.open(io.BytesIO(inside.content))
    assert png.size == (256, 256) and png.mode in ("RGBA", "LA")
    opaque = png.getchannel("A").histogram()[255]
    assert opaque > 256 * 256 // 4  # the tile at the image's centre is mostly image
    assert client.get(_tile_url(imagery, OUTSIDE)).status_code == 404
    assert client.get(f"/imagery/tiles/{imagery.pk}/23/0/0.png").status_code == 404
    assert client.get(f"/imagery/tiles/{imagery.pk}/2/9/0.png").status_code == 404
    not_modified = client.get(_tile_url(imagery, INSIDE), HTTP_IF_NONE_MATCH=inside["ETag"])
    assert not_modified.status_code == 304


def test_a_tile_comes_from_the_cache_the_second_time(world, officer, tenant_client, tmp_path, monkeypatch):
    imagery = _converted(world, officer, tmp_path)
    client = tenant_client(world.khulna, officer)
    first = client.get(_tile_url(imagery, INSIDE))
    assert first.status_code == 200
    assert client.get(_tile_url(imagery, OUTSIDE)).status_code == 404

    def no_render(*args, **kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr(tiles, "imagery_tile_render", no_render)
    second = client.get(_tile_url(imagery, INSIDE))
    assert second.status_code == 200 and second.content == first.content
    assert client.get(_tile_url(imagery, OUTSIDE)).status_code == 404  # "no tile" is cached too
    with tenant_context(world.khulna):
        assert cache.get(tiles.imagery_tile_key(imagery, INSIDE.z, INSIDE.x, INSIDE.y)) == first.content
        # a new file (version) is a new cache key: the old tile is not served for it
        imagery.version += 1
        assert cache.get(tiles.imagery_tile_key(imagery, INSIDE.z, INSIDE.x, INSIDE.y)) is None


@pytest.mark.parametrize("case", ["text", "png", "no_georeference", "outside", "too_big"])
def test_bad_files_are_refused_with_a_message_and_nothing_left(case, world, officer, tenant_client, tmp_path,
                                                               media_root, settings):
    expected = {
        "text": "not a GeoTIFF",
        "png": "not a GeoTIFF image (it is PNG)",
        "no_georeference": "has no georeference",
        "outside": "lies entirely outside Khulna City Corporation",
        "too_big": "This file is too big",
    }[case]
    path = tmp_path / "bad.tif"
    if case == "text":
        path.write_text("holding_id,ward\n1-2-3,1\n")
    elif case == "png":
        path = tmp_path / "bad.png"
        Image.new("RGB", (20, 20), "red").save(path, "PNG")
    elif case == "no_georeference":
        geotiff(path, georeferenced=False)
    elif case == "outside":
        geotiff(path, centre=(91.83, 22.36))  # Chattogram
    else:
        geotiff(path)
        settings.IMIS_IMAGERY_MAX_BYTES = 1000
    response = _upload(tenant_client(world.khulna, officer), path)
    assert response.status_code == 400
    assert expected in response.content.decode()
    with tenant_context(world.khulna):
        assert not Imagery.objects.exists() and not Job.objects.exists()
    assert _files(media_root) == []


def test_a_conversion_that_fails_marks_the_imagery_and_leaves_no_file(world, officer, tmp_path, media_root):
    with tenant_context(world.khulna):
        imagery = services.imagery_upload(upload=upload_of(geotiff(tmp_path / "khulna.tif")), name="", by=officer)
        assert imagery.name == "khulna"
        (Path(media_root) / imagery.file).write_bytes(b"broken after the check")
        imagery = services.imagery_convert_run(job_id=imagery.job_id, imagery_id=imagery.pk)
        assert imagery.status == "failed" and "could not be converted" in imagery.error
        assert Job.objects.get(pk=imagery.job_id).status == "failed"
    assert _files(media_root) == []


def test_a_16_bit_image_is_stretched_the_same_way_in_every_tile(world, officer, tenant_client, tmp_path):
    with tenant_context(world.khulna):
        imagery = services.imagery_upload(upload=upload_of(geotiff_grey16(tmp_path / "scene.tif")), name="Scene",
                                          by=officer)
        imagery = services.imagery_convert_run(job_id=imagery.job_id, imagery_id=imagery.pk)
    assert imagery.status == "ready"
    [(low, high)] = imagery.value_range
    assert 1000 <= low < 1400 and 4600 < high <= 5000  # the 2nd and 98th percentiles
    client = tenant_client(world.khulna, officer)
    west = WEB_MERCATOR.tile(ORIGIN[0] - 0.0012, ORIGIN[1], 18)
    east = WEB_MERCATOR.tile(ORIGIN[0] + 0.0012, ORIGIN[1], 18)
    assert east.x > west.x
    greys = []
    for tile in (west, east):
        response = client.get(_tile_url(imagery, tile))
        assert response.status_code == 200
        png = Image.open(io.BytesIO(response.content))
        assert png.size == (256, 256) and png.mode == "LA"
        pixels = np.asarray(png)
        shown = pixels[..., 0][pixels[..., 1] == 255]  # grey where the image is (not beyond its edge)
        greys.append((int(shown.min()), int(shown.max())))
    # one stretch for the whole image: the western tile is darker than the eastern one (a per-tile stretch would
    # spread each tile over 0..255)
    assert greys[0][1] < greys[1][1] and greys[0][0] < greys[1][0]


def test_outside_imagery_services(world, officer, tenant_client):
    client = tenant_client(world.khulna, officer)
    refused = client.post("/imagery/external/", {"name": "Esri", "url_template": "https://example.org/tiles.png",
                                                 "max_zoom": 19})
    assert refused.status_code == 400 and "must hold {z}, {x}, {y}" in refused.content.decode()
    refused = client.post("/imagery/external/", {"name": "Esri", "url_template": "javascript:alert(1)/{z}/{x}/{y}",
                                                 "max_zoom": 19})
    assert refused.status_code == 400 and "http(s)://" in refused.content.decode()
    url = "https://tiles.example.org/imagery/{z}/{y}/{x}.jpg"
    added = client.post("/imagery/external/", {"name": "Satellite", "url_template": url,
                                               "attribution": "© Example", "max_zoom": 18})
    assert added.status_code == 302
    [source] = client.get("/imagery/sources.json").json()
    assert source["kind"] == "external" and source["tiles"] == [url] and source["attribution"] == "© Example"
    assert source["maxzoom"] == 18 and source["minzoom"] == 0
    with tenant_context(world.khulna):
        imagery = Imagery.objects.get()
    assert client.get(f"/imagery/tiles/{imagery.pk}/17/0/0.png").status_code == 404  # not ours to serve
    wmts = "https://wmts.example.org/rest/Imagery/default/GoogleMapsCompatible/{TileMatrix}/{TileRow}/{TileCol}.jpg"
    assert client.post("/imagery/external/", {"name": "WMTS", "url_template": wmts, "max_zoom": 19}).status_code == 302
    assert client.get("/imagery/sources.json").json()[-1]["tiles"] == [
        "https://wmts.example.org/rest/Imagery/default/GoogleMapsCompatible/{z}/{y}/{x}.jpg"]


def test_delete_removes_the_file(world, officer, tenant_client, tmp_path, media_root,
                                 django_capture_on_commit_callbacks):
    imagery = _converted(world, officer, tmp_path)
    assert len(_files(media_root)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = tenant_client(world.khulna, officer).post(f"/imagery/{imagery.pk}/delete/")
    assert response.status_code == 302
    assert _files(media_root) == []
    with tenant_context(world.khulna):
        assert not Imagery.objects.exists()
        assert AuditEntry.objects.filter(model="imagery.imagery", action="delete").exists()


@pytest.mark.parametrize("role, can_view, can_manage", [
    ("gis_officer", True, True), ("municipal_admin", True, True), ("viewer", True, False),
    ("tax_officer", True, False), ("service_provider", True, False),
])
def test_roles(role, can_view, can_manage, world, officer, tenant_client, tmp_path):
    imagery = _converted(world, officer, tmp_path)
    client = tenant_client(world.khulna, world.user(role, "khulna"))
    page = client.get("/imagery/")
    assert page.status_code == (200 if can_view else 403)
    assert (b"data-imagery-upload" in page.content) is can_manage
    assert client.get(_tile_url(imagery, INSIDE)).status_code == (200 if can_view else 403)
    response = _upload(client, geotiff(tmp_path / "second.tif"))
    assert response.status_code == (302 if can_manage else 403)
    deleted = client.post(f"/imagery/{imagery.pk}/delete/")
    assert deleted.status_code == (302 if can_manage else 403)


def test_the_service_checks_the_role_too(world, tmp_path):
    with tenant_context(world.khulna), pytest.raises(Exception) as refused:
        services.imagery_upload(upload=upload_of(geotiff(tmp_path / "k.tif")), name="x",
                                by=world.user("viewer", "khulna"))
    assert getattr(refused.value, "code", None) == "forbidden"


def test_anonymous_and_other_municipalities_cannot_read_it(world, officer, tenant_client, tmp_path):
    imagery = _converted(world, officer, tmp_path)
    url = _tile_url(imagery, INSIDE)
    anonymous = tenant_client(world.khulna)
    assert anonymous.get(url).status_code in (302, 403)
    assert anonymous.get("/imagery/sources.json").status_code in (302, 403)
    # a Jhenaidah officer guessing the path on Jhenaidah's host: ids are per municipality, there is no such image
    jhenaidah = tenant_client(world.jhenaidah, world.user("gis_officer", "jhenaidah"))
    assert jhenaidah.get(url).status_code == 404
    assert jhenaidah.get("/imagery/sources.json").json() == []
    # ... and on Khulna's host they are no member
    stranger = tenant_client(world.khulna, world.user("gis_officer", "jhenaidah"))
    assert stranger.get(url).status_code in (302, 403)
    assert b"PNG" not in stranger.get(url).content[:8]


@pytest.mark.django_db(transaction=True)
def test_the_conversion_runs_through_a_real_worker(tworld, tmp_path, media_root):
    """The upload queues its job after the commit; a Celery worker converts it in Khulna's schema."""
    import time

    from celery.contrib.testing.worker import start_worker

    from imis import celery_app

    officer = tworld.user("gis_officer", "khulna")
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING",
                      queues=[celery_app.conf.task_default_queue]):
        with tenant_context(tworld.khulna):
            imagery = services.imagery_upload(upload=upload_of(geotiff(tmp_path / "khulna.tif")), name="Drone",
                                              by=officer)
            for _attempt in range(600):  # the job's end, not a duration, is what the test waits for
                job = Job.objects.get(pk=imagery.job_id)
                if job.is_done:
                    break
                time.sleep(0.1)
    with tenant_context(tworld.khulna):
        assert Job.objects.get(pk=imagery.job_id).status == "succeeded"
        imagery.refresh_from_db()
        assert imagery.status == "ready" and imagery.file.endswith(".cog.tif")
        assert (Path(media_root) / imagery.file).is_file()


def test_the_list_and_sources_run_a_bounded_number_of_queries(world, officer, tenant_client, tmp_path,
                                                              django_assert_max_num_queries):
    client = tenant_client(world.khulna, officer)
    _converted(world, officer, tmp_path)
    with tenant_context(world.khulna):
        for number in range(6):
            services.imagery_external_create(name=f"Service {number}", url_template="https://t.example.org/{z}/{x}/{y}",
                                             by=officer)
    with django_assert_max_num_queries(20):
        assert client.get("/imagery/").status_code == 200
    with django_assert_max_num_queries(8):
        assert len(client.get("/imagery/sources.json").json()) == 7


def test_another_municipality_cannot_delete_it(world, officer, tenant_client, tmp_path):
    imagery = _converted(world, officer, tmp_path)
    jhenaidah = tenant_client(world.jhenaidah, world.user("gis_officer", "jhenaidah"))
    assert jhenaidah.post(f"/imagery/{imagery.pk}/delete/").status_code == 404
    with tenant_context(world.khulna):
        assert Imagery.objects.filter(pk=imagery.pk).exists()
