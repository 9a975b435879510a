"""Middleware every request passes: answers under /api/ are JSON, whatever went wrong."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from .http import error_body, json_response

API_PREFIX = "/api/"


def _refusal(status: int, response: HttpResponse) -> dict:
    if status == 404:
        return error_body("not_found", _("There is nothing at this address of the API."))
    if status == 405:
        allowed = response.get("Allow", "")
        return error_body(
            "method_not_allowed",
            _("This address does not take %(method)s; it takes %(allowed)s.")
            % {"method": response.get("X-Refused-Method", _("this method")), "allowed": allowed},
        )
    if status == 413:
        return error_body("request_too_large", _("The request is too large."))
    if status >= 500:
        return error_body("server_error", _("Something went wrong on our side."))
    return error_body("bad_request", _("The request could not be read."))


class ApiErrorsAsJson:
    """Django's own error pages (an unmatched path, a method ninja does not route, a body
    it cannot parse, a crash outside ninja) become JSON bodies with a code for requests
    under /api/, as the API's own refusals are; the status and headers stay."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path_info.startswith(API_PREFIX)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            if response.status_code == 405:
                response["X-Refused-Method"] = request.method
            body = _refusal(response.status_code, response)
            replaced = json_response(response.status_code, body)
            for name, value in response.items():
                if name.lower() not in ("content-type", "content-length", "x-refused-method"):
                    replaced[name] = value
            return replaced
        return response
