from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("fsm", "0001_initial")]

    operations = [
        migrations.RunSQL("CREATE SEQUENCE fsm_application_number_seq", "DROP SEQUENCE fsm_application_number_seq"),
    ]
