"""Log-in with a limit on failed attempts, so a password cannot be guessed by trying many.

Failures are counted in Django's cache (Redis when REDIS_URL is set, so every web worker shares the
counts) per user name and per client address, over a window of LOGIN_LOCKOUT_MINUTES from the
first failure. After LOGIN_ATTEMPTS failures for one user name, or four times as many from one
address (a team behind one office router must not lock each other out), further attempts are
refused with 429 for LOGIN_LOCKOUT_MINUTES. A refused attempt never reaches the password check, so
the answer is the same whether the password was right or wrong, and whether the account exists:
the lock tells an attacker nothing. A successful log-in clears its user name's count, not its
address's, or an attacker could reset the address count by logging in to an account of their own.
"""

import hashlib
import logging
import math
import time

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

ADDRESS_FACTOR = 4
USER_LOCKED = (
    "Too many failed log-ins for this account. Try again in {minutes}, or reset your password."
)
ADDRESS_LOCKED = "Too many failed log-ins from your network address. Try again in {minutes}."


def client_address(request) -> str:
    """REMOTE_ADDR; behind a trusted proxy (TRUST_X_FORWARDED_PROTO), the address that proxy
    appended to X-Forwarded-For. Earlier entries are whatever the client sent, so never used."""
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        if forwarded:
            return forwarded
    return request.META.get("REMOTE_ADDR", "")


def _key(kind: str, what: str, value: str) -> str:
    # Hashed: cache keys stay short and safe whatever was typed, and no user name is stored.
    return f"login:{kind}:{what}:{hashlib.sha256(value.encode()).hexdigest()}"


def _window() -> int:
    return settings.LOGIN_LOCKOUT_MINUTES * 60


def _limits(username: str, address: str):
    yield "user", username.strip().casefold(), settings.LOGIN_ATTEMPTS, USER_LOCKED
    yield "address", address, settings.LOGIN_ATTEMPTS * ADDRESS_FACTOR, ADDRESS_LOCKED


def _in_minutes(until: float) -> str:
    minutes = max(1, math.ceil((until - time.time()) / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def lockout_message(username: str, address: str) -> str | None:
    """Why log-in is refused for now, or None when it is not."""
    for what, value, _, message in _limits(username, address):
        until = cache.get(_key("locked", what, value))
        if until is not None:
            return message.format(minutes=_in_minutes(until))
    return None


def _count(key: str) -> int:
    cache.add(key, 0, timeout=_window())
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=_window())
        return 1


def record_failure(username: str, address: str) -> None:
    for what, value, limit, _ in _limits(username, address):
        if _count(_key("failures", what, value)) >= limit:
            cache.set(_key("locked", what, value), time.time() + _window(), timeout=_window())
            logger.warning("Log-in locked for %s after %s failures", what, limit)


def clear_failures(username: str) -> None:
    cache.delete(_key("failures", "user", username.strip().casefold()))


def _counting(action, *args):
    """Runs a cache action; with Redis down, log-in goes on uncounted rather than fail for all."""
    try:
        return action(*args)
    except (RedisError, OSError) as error:
        logger.warning("Log-in failures not counted: the cache is unreachable (%s)", error)
        return None


class LoginView(auth_views.LoginView):
    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        refusal = _counting(lockout_message, username, client_address(request))
        if refusal:
            # An unbound form: a bound one would check the password when the page shows errors.
            form = self.get_form_class()(request, initial={"username": username})
            context = self.get_context_data(form=form, lockout=refusal)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        username = self.request.POST.get("username", "")
        if username and self.request.POST.get("password"):
            _counting(record_failure, username, client_address(self.request))
        return super().form_invalid(form)

    def form_valid(self, form):
        _counting(clear_failures, self.request.POST.get("username", ""))
        return super().form_valid(form)
