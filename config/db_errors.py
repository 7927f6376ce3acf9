"""When the database cannot be reached: a 503 that says so, never a 500.

A PostgreSQL restart ends every open connection, and requests that reach the database while it is
down fail with OperationalError or InterfaceError wherever they first touch it: usually the login
check (the session and the user are loaded lazily by the first middleware that asks), else the
view. The view's exceptions come to `process_exception`. Django turns an exception raised in
another middleware into a 500 response before this one sees it, so `got_request_exception` marks
the request and the 500 is replaced on its way out.

Every write is one transaction, so a request that failed before any write reached the database
saved nothing, and says so. One that had written something may have lost the connection after
its commit (while drawing the answer, or saving the session), so it says that what was done may
have been saved and the page should be reloaded. Django closes the broken connection at the end
of the request and `CONN_HEALTH_CHECKS` tests a kept one before reusing it, so the first request
after the database is back connects afresh: the server recovers by itself.
"""

import logging
import sys

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError, connection
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from .middleware import CONTENT_SECURITY_POLICY

logger = logging.getLogger(__name__)

NOTHING_SAVED = "The database is not reachable just now; nothing was saved. Try again in a moment."
MAYBE_SAVED = (
    "The database stopped answering part-way through; what you just did may have been saved. "
    "Reload the page in a moment to see."
)
RETRY_AFTER_SECONDS = 5
_MARK = "_database_unreachable"
_WROTE = "_database_written"
_READS = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "SET", "SHOW", "PRAGMA", "BEGIN")


def is_unreachable(error: BaseException | None) -> bool:
    return isinstance(error, (OperationalError, InterfaceError))


@receiver(got_request_exception)
def _mark_unreachable(sender, request=None, **kwargs):
    if request is not None and is_unreachable(sys.exc_info()[1]):
        setattr(request, _MARK, True)


class DatabaseUnavailableMiddleware:
    """Answers 503 with a plain message when the database could not be reached.

    Placed after SecurityMiddleware (whose headers the answer keeps) and before anything that
    reads the session. It watches the request's queries only to know whether a write went
    through before the failure.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with connection.execute_wrapper(_WriteWatch(request)):
            response = self.get_response(request)
        if getattr(request, _MARK, False) and response.status_code >= 500:
            return self.unavailable(request)
        return response

    def process_exception(self, request, exception):
        if is_unreachable(exception):
            logger.error("Database unreachable: %s", exception, exc_info=exception)
            return self.unavailable(request)
        return None

    def unavailable(self, request):
        message = MAYBE_SAVED if getattr(request, _WROTE, False) else NOTHING_SAVED
        if request.get_preferred_type(["text/html", "application/json"]) == "application/json":
            # `saved: false` is what the lay form's autosave reads to keep the text and retry.
            response = JsonResponse({"error": message, "saved": False}, status=503)
        else:
            # Rendered without the request: its context processors would ask the database.
            html = render_to_string("503.html", {"message": message})
            response = HttpResponse(html, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class _WriteWatch:
    """An execute wrapper noting on the request that a write statement succeeded."""

    def __init__(self, request):
        self.request = request

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not getattr(self.request, _WROTE, False) and not _is_read(sql):
            setattr(self.request, _WROTE, True)
        return result


def _is_read(sql) -> bool:
    head = str(sql).lstrip().split(None, 1)
    return not head or head[0].upper() in _READS
