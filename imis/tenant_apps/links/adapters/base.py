"""The common interface of a link's adapter, and the one way links speak HTTP (always from a job, with timeouts)."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import ClassVar

import requests
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..errors import LinkError, TransientLinkError

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 30
MAX_RESPONSE_BYTES = 20 * 1024 * 1024
USER_AGENT = "IMIS-links/1"


class Adapter(ABC):
    """A kind of link. `run` does the work of one run inside a job and returns its report (a JSON-able dict);
    it raises LinkError (nothing written) when the run cannot be done."""

    kind: ClassVar[str]
    title: ClassVar = gettext_lazy("Link")
    summary: ClassVar = ""
    icon: ClassVar[str] = "bi-plug"
    is_schedulable: ClassVar[bool] = True
    is_atomic: ClassVar[bool] = True  # the run and its audit entry in one transaction (False: it logs as it goes)

    def config_problems(self, link) -> list[str]:
        """What keeps the link from running (shown on its page; "Run now" is refused while there is one)."""
        return []

    @abstractmethod
    def run(self, *, link, run, job_id) -> dict:
        """One run's work (each kind of link has its own)."""


def _headers(link, extra: dict | None = None) -> dict:
    headers = {"User-Agent": USER_AGENT, **(extra or {})}
    if link.secret_header and link.has_secret:
        headers[link.secret_header] = link.secret
    return headers


def http_get(link, url: str, *, accept: str = "application/json") -> bytes:
    """GET `url` with the link's token header; the body. 5xx / network trouble is transient (worth a retry)."""
    try:
        response = requests.get(url, headers=_headers(link, {"Accept": accept}),
                                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), stream=True)
        body = response.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
    except requests.RequestException as error:
        raise TransientLinkError(_("The source could not be reached: %(error)s") % {"error": error},
                                 code="unreachable") from error
    if response.status_code >= 500:
        raise TransientLinkError(_("The source answered with an error (HTTP %(status)s).") % {
            "status": response.status_code}, code="server_error")
    if response.status_code >= 400:
        raise LinkError(_("The source refused the request (HTTP %(status)s); check the URL and the token.") % {
            "status": response.status_code}, code="refused")
    if len(body) > MAX_RESPONSE_BYTES:
        raise LinkError(_("The source's answer is larger than %(mb)s MB.") % {"mb": MAX_RESPONSE_BYTES // 2**20},
                        code="too_large")
    return body


def http_get_json(link, url: str):
    try:
        return json.loads(http_get(link, url).decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as error:
        raise LinkError(_("The source's answer is not JSON."), code="not_json") from error


def http_post_json(link, url: str, body: bytes, headers: dict) -> requests.Response:
    """POST a JSON body; network trouble raises TransientLinkError, the response is returned as it is."""
    try:
        return requests.post(url, data=body, headers={"User-Agent": USER_AGENT, "Content-Type": "application/json",
                                                      **headers},
                             timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
    except requests.RequestException as error:
        raise TransientLinkError(_("The endpoint could not be reached: %(error)s") % {"error": error},
                                 code="unreachable") from error
