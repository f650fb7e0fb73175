"""Temporary: the test settings with the dataio app, until it is wired into base.py (the lead deletes this)."""

from .test import *  # noqa: F401,F403
from .test import INSTALLED_APPS, TENANT_APPS

TENANT_APPS = TENANT_APPS + ["imis.tenant_apps.dataio"]
INSTALLED_APPS = INSTALLED_APPS + ["imis.tenant_apps.dataio"]
ROOT_URLCONF = "imis.platform.urls_tenant_dataio"
