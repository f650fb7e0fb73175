from celery import shared_task

from imis.shared_apps.accounts.models import User

from .services import buildings_link_nearest_roads, containments_refresh_emptying_due


@shared_task
def link_buildings_to_roads(user_id: int | None = None) -> dict[str, int]:
    """The bulk road-linking job; runs in the schema it was enqueued from. Safe to re-run."""
    by = User.objects.filter(pk=user_id).first() if user_id else None
    return buildings_link_nearest_roads(by=by)


@shared_task
def refresh_emptying_due() -> int:
    return containments_refresh_emptying_due()
