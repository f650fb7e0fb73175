from django.core.management.base import BaseCommand

from imis.shared_apps.accounts.roles import Role
from imis.shared_apps.tenants.demo import DEMO_PASSWORD, PLATFORM_ADMIN_EMAIL, demo_email
from imis.shared_apps.tenants.models import Municipality


class Command(BaseCommand):
    help = "Print the URLs and demo logins."

    def handle(self, *args, **options):
        self.stdout.write("\nIMIS is starting on port 8000\n")
        self.stdout.write("  public site and console   http://localhost:8000/")
        for municipality in Municipality.objects.prefetch_related("domains", "features").order_by("name"):
            domain = next((d.domain for d in municipality.domains.all() if d.is_primary), "?")
            features = ", ".join(f.feature_id for f in municipality.features.all() if f.is_enabled)
            self.stdout.write(f"  {municipality.name:<28} http://{domain}:8000/   ({features}; {municipality.status})")
        self.stdout.write(f"\nDemo logins (password {DEMO_PASSWORD}):")
        self.stdout.write(f"  {PLATFORM_ADMIN_EMAIL}")
        self.stdout.write(f"  {demo_email('<role>', '<slug>')}  roles: {', '.join(Role.values)}")
        self.stdout.write(f"  e.g. {demo_email(Role.TAX_OFFICER, 'khulna')}\n")
