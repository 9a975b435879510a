"""Two middleware stacks: the full one for the portal, a short one for the API.

The API authenticates every request by its bearer key and never uses sessions, cookies,
CSRF tokens, messages or htmx. Running the portal's middleware for each till request cost
about a third of the API's CPU per lookup, so requests under `API_PREFIX` go through a
handler built from `settings.API_MIDDLEWARE` instead of `settings.MIDDLEWARE`. Both are
Django's own handlers: every middleware hook (process_view, process_exception, ...) works.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

API_PREFIX = "/api/"

_loading = threading.Lock()


@contextmanager
def _middleware_setting(stack: list[str]):
    # BaseHandler.load_middleware reads settings.MIDDLEWARE; it runs once per handler.
    with _loading:
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = stack
        try:
            yield
        finally:
            settings.MIDDLEWARE = full


class ApiMiddlewareMixin:
    def load_middleware(self, is_async=False):
        with _middleware_setting(settings.API_MIDDLEWARE):
            super().load_middleware(is_async)


class ApiWSGIHandler(ApiMiddlewareMixin, WSGIHandler):
    """Django's WSGI handler with the API's middleware."""


class StammgastWSGI:
    """The WSGI application: the tills' hot reads answered directly (core/direct.py), other
    API requests to the API's handler, the rest to the portal's."""

    def __init__(self) -> None:
        from stammgast.api import direct_reads

        self.portal = WSGIHandler()
        self.api = ApiWSGIHandler()
        self.direct = direct_reads

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith(API_PREFIX):
            answered = self.direct.answer(environ)
            if answered is not None:
                status, headers, body = answered
                start_response(status, headers)
                return [body]
            return self.api(environ, start_response)
        return self.portal(environ, start_response)
