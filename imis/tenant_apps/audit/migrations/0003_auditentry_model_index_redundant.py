# The plain index on model is redundant: model is the first column of (model, object_id, -created), which serves
# every filter and ordering on model alone. Dropping it (and its varchar_pattern_ops twin) makes audit writes cheaper.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0002_alter_auditentry_action'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditentry',
            name='model',
            field=models.CharField(max_length=100),
        ),
    ]
