"""The dashboard's HTTP hardening that Django does not ship: a Content-Security-Policy header, a static-files
handler that answers a path-traversal attempt with a 404 (not a 500 and a traceback), and a log filter that
keeps anonymous noise (403s, suspicious requests) to one line each instead of a traceback.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404
from django.utils.deprecation import MiddlewareMixin

log = logging.getLogger("labweb.security")

class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    """Adds `Content-Security-Policy` (or `-Report-Only`) from settings.LABWEB_CSP to every response that has
    none; an empty LABWEB_CSP turns it off. (MiddlewareMixin: runs in async and sync handlers alike.)"""

    def process_response(self, request, response):
        policy = getattr(settings, "LABWEB_CSP", "")
        header = ("Content-Security-Policy-Report-Only" if getattr(settings, "LABWEB_CSP_REPORT_ONLY", False)
                  else "Content-Security-Policy")
        if policy and header not in response:
            response[header] = policy
        return response


class SafeStaticFilesHandler(ASGIStaticFilesHandler):
    """Django's static handler (as labweb.asgi uses it), but a path that tries to leave the static folders is a
    plain 404: Django's handler only catches Http404, so `SuspiciousFileOperation` became a 500 with a traceback."""

    async def get_response_async(self, request):
        try:
            return await super().get_response_async(request)
        except SuspiciousOperation:
            logging.getLogger("django.security").warning("static path refused: %s", request.path[:200])
            from asgiref.sync import sync_to_async
            from django.core.handlers.exception import response_for_exception

            return await sync_to_async(response_for_exception)(request, Http404("Not found"))


class QuietRefusals(logging.Filter):
    """One line, no traceback, for what anonymous clients can cause at will (a 403, a suspicious request, a
    websocket to a path that does not exist): a traceback per request lets anyone fill the error log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None:
            return True
        if isinstance(exc, (PermissionDenied, SuspiciousOperation, Http404)):
            record.exc_info = record.exc_text = None
        elif isinstance(exc, ValueError) and str(exc).startswith("No route found for path"):
            # Channels' router raising for an unknown websocket path; daphne logs it as an application error
            record.exc_info = record.exc_text = None
            record.msg, record.args = "websocket refused: %s", (exc,)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def lockout_response(request, original_response=None, credentials=None):
    """The page a locked-out login gets (django-axes calls this): 429, saying why and for how long."""
    from axes.helpers import get_client_username, get_cool_off, get_failure_limit
    from django.shortcuts import render

    username = get_client_username(request, credentials) or ""
    log.warning("login for %r from %s refused: locked out after too many failures", username[:150],
                request.META.get("REMOTE_ADDR", "?"))
    context = {"failure_limit": get_failure_limit(request, credentials), "username": username,
               "cooloff_timedelta": get_cool_off(request)}
    return render(request, "registration/locked.html", context, status=429)
