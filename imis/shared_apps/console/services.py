"""What the support team does: onboard, toggle, suspend, invite, support sessions, backup and restore."""

from __future__ import annotations

import datetime
import io
import json
import re
import tarfile

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imis.platform.errors import field_error
from imis.shared_apps.accounts.models import Membership, User
from imis.shared_apps.accounts.roles import Role
from imis.shared_apps.accounts.services import membership_grant
from imis.shared_apps.tenants.models import Domain, Municipality, MunicipalityFeature
from imis.shared_apps.tenants.services import municipality_create, municipality_feature_set, municipality_set_status
from imis.shared_apps.tenants.template_schema import schema_dump_sql, schema_sql_renamed

from .models import ConsoleAuditEntry, SupportSession

BACKUP_FORMAT = 1


def console_audit(*, actor, action: str, municipality=None, **details) -> ConsoleAuditEntry:
    return ConsoleAuditEntry.objects.create(actor=actor, municipality=municipality, action=action,
                                            details=json.loads(json.dumps(details, default=str)))


def onboarding_create(*, by, holding_id_pattern: str | None = None, **fields) -> Municipality:
    """Step 1 of the wizard: the municipality, its schema, domain and features (tenants.municipality_create)."""
    if holding_id_pattern is not None:
        try:
            re.compile(holding_id_pattern)
        except re.error as error:
            raise field_error({"holding_id_pattern": _("Not a valid regular expression: %(error)s")
                               % {"error": error}}, code="invalid_pattern") from error
    municipality = municipality_create(**fields)
    if holding_id_pattern is not None and holding_id_pattern != municipality.holding_id_pattern:
        municipality.holding_id_pattern = holding_id_pattern
        municipality.save(update_fields=["holding_id_pattern"])
    console_audit(actor=by, action="create", municipality=municipality, slug=municipality.slug,
                  features=fields.get("features", []), holding_id_pattern=municipality.holding_id_pattern)
    return municipality


def onboarding_package_start(*, by, municipality: Municipality, upload, skip_bad_rows: bool = False,
                             srid: int | None = None):
    """Step 2: the initial GIS package (a GeoPackage with several layers) through the import pipeline, as a
    Celery job in the municipality's schema. Returns the DataImport; raises SourceError for a file refused
    before anything is stored."""
    from django_tenants.utils import tenant_context

    from imis.tenant_apps.dataio.package import package_import_start

    with tenant_context(municipality):
        data_import = package_import_start(upload=upload, by=by, skip_bad_rows=skip_bad_rows, srid=srid)
    console_audit(actor=by, action="gis_package", municipality=municipality, file=data_import.file_name,
                  import_id=str(data_import.pk), skip_bad_rows=skip_bad_rows)
    return data_import


def feature_toggle(*, by, municipality: Municipality, code: str, is_enabled: bool, settings_data: dict | None = None):
    municipality_feature_set(municipality=municipality, code=code, is_enabled=is_enabled, settings_data=settings_data)
    console_audit(actor=by, action="feature", municipality=municipality, code=code, enabled=is_enabled,
                  settings=settings_data or {})


def status_change(*, by, municipality: Municipality, status: str) -> Municipality:
    previous = municipality.status
    municipality_set_status(municipality=municipality, status=status)
    console_audit(actor=by, action="status", municipality=municipality, before=previous, after=status)
    return municipality


def invite_admin(*, by, municipality: Municipality, email: str, full_name: str = "", base_url: str) -> User:
    """Create (or reuse) the municipal admin's account and email a one-time link to choose a password."""
    email = (email or "").strip().lower()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise field_error({"email": _("Enter a valid email address.")}, code="invalid_email")
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, None, full_name=full_name)
    membership_grant(user=user, municipality=municipality, role=Role.MUNICIPAL_ADMIN)
    uid = user_pk_to_url_str(user)
    token = default_token_generator.make_token(user)
    link = f"{base_url.rstrip('/')}/accounts/password/reset/key/{uid}-{token}/"
    send_mail(
        subject=_("You are the administrator of %(name)s in IMIS") % {"name": municipality.name},
        message=_("Hello%(name)s,\n\nYou now administer %(municipality)s in IMIS. Choose your password here "
                  "(the link works once):\n%(link)s\n\nThen set up an authenticator app when asked.") % {
            "name": f" {full_name}" if full_name else "", "municipality": municipality.name, "link": link},
        from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[email],
    )
    console_audit(actor=by, action="invite", municipality=municipality, email=email)
    return user


# --- support sessions ---------------------------------------------------------------------------------

def support_session_start(*, user: User, municipality: Municipality, reason: str,
                          minutes: int | None = None) -> SupportSession:
    if not user.is_platform_staff:
        raise ValidationError(_("Only platform staff start support sessions."), code="forbidden")
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise field_error({"reason": _("Say why you need access (at least 10 characters).")}, code="reason_required")
    minutes = minutes or settings.SUPPORT_SESSION_MINUTES
    if not 1 <= minutes <= 8 * 60:
        raise field_error({"minutes": _("A support session lasts from 1 minute to 8 hours.")}, code="invalid_length")
    session = SupportSession.objects.create(user=user, municipality=municipality, reason=reason,
                                            expires=timezone.now() + datetime.timedelta(minutes=minutes))
    console_audit(actor=user, action="support_start", municipality=municipality, reason=reason, minutes=minutes)
    from django_tenants.utils import tenant_context

    from imis.tenant_apps.audit.models import AuditEntry

    with tenant_context(municipality):
        AuditEntry.objects.create(actor_id=user.pk, actor_label=f"{user.email} (support)",
                                  action=AuditEntry.Action.SUPPORT, model="console.supportsession",
                                  object_id=str(session.pk), object_label=reason[:200],
                                  after={"event": "started", "expires": session.expires.isoformat()})
    return session


def support_session_end(*, session: SupportSession, by: User) -> SupportSession:
    if session.ended is None:
        session.ended = timezone.now()
        session.save(update_fields=["ended"])
        console_audit(actor=by, action="support_end", municipality=session.municipality)
    return session


# --- backup and restore -------------------------------------------------------------------------------

def backup_create(*, municipality: Municipality, by) -> bytes:
    """A .tar.gz with the municipality's schema (SQL) and its public rows (JSON)."""
    public = {
        "format": BACKUP_FORMAT,
        "created": timezone.now().isoformat(),
        "municipality": {field.name: getattr(municipality, field.attname) for field in Municipality._meta.fields
                         if field.name not in ("id", "created")},
        "domains": list(Domain.objects.filter(tenant=municipality).values("domain", "is_primary")),
        "features": list(MunicipalityFeature.objects.filter(municipality=municipality)
                         .values("feature_id", "is_enabled", "settings")),
        "memberships": list(Membership.objects.filter(municipality=municipality)
                            .values("user__email", "user__full_name", "role", "is_active")),
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in (("schema.sql", schema_dump_sql(municipality.schema_name)),
                           ("public.json", json.dumps(public, default=str, ensure_ascii=False, indent=1))):
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    console_audit(actor=by, action="backup", municipality=municipality)
    return buffer.getvalue()


def backup_read(data: bytes) -> tuple[str, dict]:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            names = set(archive.getnames())
            if names != {"schema.sql", "public.json"}:
                raise ValidationError(_("This is not an IMIS backup (unexpected files)."), code="invalid_backup")
            sql = archive.extractfile("schema.sql").read().decode("utf-8")
            public = json.loads(archive.extractfile("public.json").read().decode("utf-8"))
    except (tarfile.TarError, OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValidationError(_("This is not a readable IMIS backup."), code="invalid_backup") from error
    if public.get("format") != BACKUP_FORMAT:
        raise ValidationError(_("This backup's format is not supported."), code="invalid_backup")
    return sql, public


def backup_restore(*, data: bytes, slug: str, name: str, by, domain: str | None = None) -> Municipality:
    """Restore a backup as a new municipality (new slug, schema and domain), in one transaction."""
    from imis.shared_apps.tenants.models import slug_validator
    from imis.shared_apps.tenants.services import default_domain_for

    sql, public = backup_read(data)
    slug_validator(slug)
    if Municipality.objects.filter(slug=slug).exists() or Municipality.objects.filter(schema_name=slug).exists():
        raise field_error({"slug": _("A municipality with slug “%(slug)s” exists.") % {"slug": slug}},
                          code="duplicate_slug")
    domain = (domain or default_domain_for(slug)).lower()
    if Domain.objects.filter(domain=domain).exists():
        raise field_error({"domain": _("The domain %(domain)s is taken.") % {"domain": domain}},
                          code="duplicate_domain")
    source_schema = public["municipality"]["schema_name"]
    renamed = schema_sql_renamed(sql, source=source_schema, target=slug)
    connection.set_schema_to_public()
    with transaction.atomic():
        fields = {key: value for key, value in public["municipality"].items()
                  if key not in ("schema_name", "slug", "name", "status")}
        municipality = Municipality(schema_name=slug, slug=slug, name=name, **fields)
        municipality.save()
        Domain.objects.create(domain=domain, tenant=municipality, is_primary=True)
        for feature in public["features"]:
            MunicipalityFeature.objects.create(municipality=municipality, **feature)
        for membership in public["memberships"]:
            user = User.objects.filter(email=membership["user__email"]).first()
            if user is not None:
                Membership.objects.get_or_create(user=user, municipality=municipality, role=membership["role"],
                                                 defaults={"is_active": membership["is_active"]})
        with connection.cursor() as cursor:
            cursor.execute(renamed)
        connection.search_path_set_schemas = None
    connection.set_schema_to_public()
    console_audit(actor=by, action="restore", municipality=municipality, source=source_schema)
    return municipality
