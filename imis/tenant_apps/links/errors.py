"""What can go wrong on a link, with a code the screens and tests can rely on."""

from __future__ import annotations


class LinkError(Exception):
    """The run cannot go on: the message is shown to the user as it is."""

    def __init__(self, message: str, *, code: str, problems: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.problems = problems or []


class TransientLinkError(LinkError):
    """Worth trying again later: a 5xx answer, a timeout, a refused connection."""
