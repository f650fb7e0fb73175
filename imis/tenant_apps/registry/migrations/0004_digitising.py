import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0003_construction_year_bounds"),
    ]

    operations = [
        migrations.AddField(
            model_name="ward",
            name="updated",
            field=models.DateTimeField(auto_now=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="building",
            name="verification_status",
            field=models.CharField(
                choices=[("unverified", "Not verified"), ("verified", "Verified"), ("needs_review", "Needs review"),
                         ("digitised", "Digitised, not verified")],
                default="unverified", max_length=14, verbose_name="verification",
            ),
        ),
    ]
