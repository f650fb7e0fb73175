"""POST /graphql/ on every municipality's domain (GraphiQL on GET in development).

Who may call: members of the municipality only, authenticated by their session (the web UI) or by a personal
API token (`Authorization: Token <key>`, set up by ApiTokenMiddleware). The view answers refusals itself, in
GraphQL's JSON shape, instead of the login redirect or HTML error pages meant for browsers:

- no user: 401 `UNAUTHENTICATED`; a user without a membership here: 403 `FORBIDDEN`;
- a session request without a valid CSRF token: 403 `CSRF_FAILED` (token requests are exempt: a browser cannot
  be tricked into sending an Authorization header).

Errors never carry stack traces or internal messages: an unexpected exception is logged and answered as
`INTERNAL_SERVER_ERROR`.
"""

from __future__ import annotations

import json
import logging

from django.apps import apps
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt
from graphene_django.views import GraphQLView, HttpError
from graphql import GraphQLError, GraphQLSyntaxError

from imis.shared_apps.accounts.selectors import request_roles

from .limits import MAX_QUERY_LENGTH, VALIDATION_RULES, contains_null_character, document_problem
from .schema import schema

logger = logging.getLogger("imis.graphql")

GRAPHIQL_CSP = {
    "script-src": ["'self'", "https://cdn.jsdelivr.net", "'unsafe-inline'"],
    "style-src": ["'self'", "https://cdn.jsdelivr.net", "'unsafe-inline'"],
    "connect-src": ["'self'"],
}


def _refusal(status: int, code: str, message: str) -> HttpResponse:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


def _passes_csrf(request) -> bool:
    check = CsrfViewMiddleware(lambda request: None)
    return check.process_view(request, None, (), {}) is None


class IMISGraphQLView(GraphQLView):
    """graphene-django's view with our authentication answers, validation rules and error masking."""

    def refusal(self, request) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated:
            if request.method == "GET" and self.request_wants_html(request):
                return redirect_to_login(request.get_full_path())
            return _refusal(401, "UNAUTHENTICATED",
                            "Sign in, or send a personal API token: `Authorization: Token <key>`.")
        if not getattr(request, "is_token_authenticated", False) and not _passes_csrf(request):
            return _refusal(403, "CSRF_FAILED", "CSRF check failed: send the csrftoken cookie's value in the "
                                                "X-CSRFToken header, or use an API token.")
        if not request_roles(request):
            return _refusal(403, "FORBIDDEN", "You are not a member of this municipality.")
        return None

    def dispatch(self, request, *args, **kwargs):
        refused = self.refusal(request)
        if refused is not None:
            return refused
        response = super().dispatch(request, *args, **kwargs)
        if response.get("Content-Type", "").startswith("text/html"):
            response._csp_update = GRAPHIQL_CSP  # GraphiQL (development only) loads its app from a CDN
        return response

    def get_graphql_params(self, request, data):
        query, variables, operation_name, id_ = super().get_graphql_params(request, data)
        if query is not None and not isinstance(query, str):
            raise HttpError(_refusal(400, "BAD_REQUEST", "`query` must be a string."))
        if query and len(query) > MAX_QUERY_LENGTH:
            raise HttpError(_refusal(400, "QUERY_TOO_LARGE", f"The query is longer than {MAX_QUERY_LENGTH} "
                                                             f"characters."))
        if variables is not None and not isinstance(variables, dict):
            raise HttpError(_refusal(400, "BAD_REQUEST", "`variables` must be an object."))
        if operation_name is not None and not isinstance(operation_name, str):
            raise HttpError(_refusal(400, "BAD_REQUEST", "`operationName` must be a string."))
        problem = document_problem(query) if query else None
        if problem is not None:
            raise HttpError(_refusal(400, *problem))
        if contains_null_character(variables):
            raise HttpError(_refusal(400, "BAD_USER_INPUT", "Strings may not contain NUL (\\u0000) characters."))
        return query, variables, operation_name, id_

    def execute_graphql_request(self, request, *args, **kwargs):
        result = super().execute_graphql_request(request, *args, **kwargs)
        if result is not None and any(not isinstance(error, GraphQLError | RecursionError)
                                      for error in result.errors or ()):
            request.imis_graphql_failed = True
        return result

    def get_response(self, request, data, show_graphiql=False):
        result, status = super().get_response(request, data, show_graphiql)
        if getattr(request, "imis_graphql_failed", False):
            status = 500  # the request was fine; we failed before any field ran
        return result, status

    @staticmethod
    def format_error(error):
        if isinstance(error, HttpError):
            try:
                return json.loads(error.response.content)["errors"][0]
            except (ValueError, KeyError, IndexError, TypeError):
                return {"message": error.message, "extensions": {"code": "BAD_REQUEST"}}
        if isinstance(error, GraphQLError):
            original = error.original_error
            if original is None or isinstance(original, GraphQLError):
                formatted = error.formatted
                if original is None and "code" not in formatted.get("extensions", {}):
                    code = "GRAPHQL_PARSE_FAILED" if isinstance(error, GraphQLSyntaxError) else \
                        "GRAPHQL_VALIDATION_FAILED"
                    formatted["extensions"] = {**formatted.get("extensions", {}), "code": code}
                return formatted
            if isinstance(original, RecursionError):
                return {**error.formatted, "message": "The query is nested too deeply.",
                        "extensions": {"code": "QUERY_TOO_DEEP"}}
            logger.error("GraphQL field %s failed", error.path, exc_info=original)
            return {**error.formatted, "message": "Internal server error.",
                    "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
        if isinstance(error, RecursionError):
            return {"message": "The query is nested too deeply.", "extensions": {"code": "QUERY_TOO_DEEP"}}
        logger.error("GraphQL request failed", exc_info=error)
        return {"message": "Internal server error.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}


def _graphiql_available() -> bool:
    return settings.DEBUG and apps.is_installed("graphene_django")


# The membership check happens in the view (above) so that refusals come back as GraphQL JSON, and CSRF is
# checked there for session requests only.
graphql_view = csrf_exempt(
    IMISGraphQLView.as_view(schema=schema, graphiql=_graphiql_available(), validation_rules=VALIDATION_RULES)
)
graphql_view.imis_public = True
