"""SMS behind one adapter. Development prints to the log; a Bangladeshi gateway is one more class here.

IMIS_SMS_GATEWAY names the class; every gateway has `send(to, body) -> reference` and raises SmsError.
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger("imis.sms")


class SmsError(Exception):
    pass


class ConsoleSmsGateway:
    name = "console"

    def send(self, to: str, body: str) -> str:
        if not to.startswith("+") or not to[1:].isdigit():
            raise SmsError(f"Not an E.164 number: {to}")
        reference = uuid.uuid4().hex[:12]
        log.info("SMS to %s [%s]: %s", to, reference, body)
        return reference


def sms_gateway():
    return import_string(getattr(settings, "IMIS_SMS_GATEWAY", "imis.platform.sms.ConsoleSmsGateway"))()
