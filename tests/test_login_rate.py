"""Log-in is rate limited per user name and per address (config/login.py)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
WRONG = "Please enter a correct username and password. Note that both fields may be case-sensitive."
LOCKED = (
    "Too many failed log-ins for this account. Try again in 15 minutes, or reset your password."
)
ADDRESS_LOCKED = "Too many failed log-ins from your network address. Try again in 15 minutes."
PASSWORD = "correct-horse-battery"


def _log_in(client, username, password, address="10.0.0.1", **extra):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )


def _alerts(response) -> list[str]:
    return [
        str(message)
        for message in (
            response.context.get("lockout"),
            *response.context["form"].non_field_errors(),
        )
        if message
    ]


@pytest.fixture
def clock(monkeypatch):
    """time.time under the test's control; the local-memory cache expires entries by it too."""
    now = [time.time()]
    monkeypatch.setattr(time, "time", lambda: now[0])
    return now


def test_five_failures_then_the_account_is_refused_without_a_password_check(client, users):
    for attempt in range(1, 6):
        response = _log_in(client, "the-coder", "wrong")
        assert (attempt, response.status_code, _alerts(response)) == (attempt, 200, [WRONG])
    # The sixth is refused even with the right password: the lock answers the same either way.
    for password in ("wrong", PASSWORD):
        response = _log_in(client, "the-coder", password)
        assert response.status_code == 429
        assert _alerts(response) == [LOCKED]
        assert LOCKED in response.content.decode()
        assert "_auth_user_id" not in client.session


def test_refusal_does_not_check_the_password(client, users, monkeypatch):
    for _ in range(5):
        _log_in(client, "the-coder", "wrong")
    checked = []
    monkeypatch.setattr("django.contrib.auth.forms.authenticate", lambda *a, **k: checked.append(1))
    assert _log_in(client, "the-coder", PASSWORD).status_code == 429
    assert checked == []


def test_unknown_user_names_lock_the_same_way(client, db):
    """So the lock cannot tell whether an account exists."""
    statuses = [_log_in(client, "no-such-person", "wrong").status_code for _ in range(6)]
    assert statuses == [200, 200, 200, 200, 200, 429]
    assert _alerts(_log_in(client, "no-such-person", "wrong")) == [LOCKED]


def test_user_names_differing_in_case_share_a_count(client, users):
    for name in ("the-coder", "The-Coder", "THE-CODER", " the-coder", "the-CODER"):
        _log_in(client, name, "wrong")
    assert _log_in(client, "the-coder", PASSWORD).status_code == 429


def test_lock_of_one_account_leaves_others_alone(client, users):
    for _ in range(5):
        _log_in(client, "the-coder", "wrong")
    response = _log_in(client, "the-pi", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("projects:list")


def test_lock_ends_after_fifteen_minutes(client, users, clock):
    for _ in range(5):
        _log_in(client, "the-coder", "wrong")
    clock[0] += 14 * 60
    response = _log_in(client, "the-coder", PASSWORD)
    assert (response.status_code, _alerts(response)) == (
        429,
        [LOCKED.replace("15 minutes", "1 minute")],
    )
    clock[0] += 60
    response = _log_in(client, "the-coder", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(users["coder"].pk)


def test_failures_are_counted_over_the_window_only(client, users, clock):
    for _ in range(4):
        _log_in(client, "the-coder", "wrong")
    clock[0] += 15 * 60
    statuses = [_log_in(client, "the-coder", "wrong").status_code for _ in range(6)]
    assert statuses == [200, 200, 200, 200, 200, 429]


def test_success_clears_the_user_names_count(client, users):
    for _ in range(4):
        _log_in(client, "the-coder", "wrong")
    assert _log_in(client, "the-coder", PASSWORD).status_code == 302
    client.logout()
    statuses = [_log_in(client, "the-coder", "wrong").status_code for _ in range(6)]
    assert statuses == [200, 200, 200, 200, 200, 429]


def test_one_address_is_refused_after_twenty_failures_across_user_names(client, users):
    for n in range(20):
        assert _log_in(client, f"guess-{n}", "wrong").status_code == 200
    response = _log_in(client, "the-pi", PASSWORD)
    assert (response.status_code, _alerts(response)) == (429, [ADDRESS_LOCKED])
    # Another address is not affected, and a success does not clear the address's count.
    assert _log_in(client, "the-pi", PASSWORD, address="10.0.0.2").status_code == 302
    client.logout()
    assert _log_in(client, "the-coder", PASSWORD).status_code == 429


def test_forwarded_address_counts_only_behind_a_trusted_proxy(client, users):
    def spread_over_forwarded_addresses():
        for n in range(20):
            _log_in(client, f"guess-{n}", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        return _log_in(client, "the-pi", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99")

    # Untrusted, the header is the client's to invent: all twenty came from REMOTE_ADDR.
    assert spread_over_forwarded_addresses().status_code == 429


def test_trusted_proxy_uses_the_address_it_appended(client, users, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    for n in range(20):
        # A client may prepend anything; the proxy appends the real address last.
        _log_in(client, f"guess-{n}", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 198.51.100.7")
    blocked = _log_in(client, "the-pi", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert (blocked.status_code, _alerts(blocked)) == (429, [ADDRESS_LOCKED])
    # The proxy's own REMOTE_ADDR is shared by everyone, so it is not what counts.
    allowed = _log_in(client, "the-pi", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.8")
    assert allowed.status_code == 302


def test_limits_follow_the_settings(client, users, settings):
    settings.LOGIN_ATTEMPTS = 2
    settings.LOGIN_LOCKOUT_MINUTES = 3
    statuses = [_log_in(client, "the-coder", "wrong").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert _alerts(_log_in(client, "the-coder", "wrong")) == [
        LOCKED.replace("15 minutes", "3 minutes")
    ]


def test_login_page_still_shows_and_logs_in(client, users):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert page.context.get("lockout") is None
    assert 'name="username"' in page.content.decode()
    response = client.post(
        reverse("login") + "?next=/projects/",
        {"username": "the-coder", "password": PASSWORD, "next": "/projects/"},
    )
    assert response["Location"] == "/projects/"


def test_cache_is_redis_when_redis_url_is_set(tmp_path):
    def backend(redis_url):
        env = {
            "PATH": os.environ["PATH"],
            "DEBUG": "1",
            "VAR_DIR": str(tmp_path),
            "REDIS_URL": redis_url,
        }
        code = "import config.settings as s; print(s.CACHES['default']['BACKEND'])"
        result = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        return result.stdout.strip()

    assert backend("redis://127.0.0.1:6379/11") == "django.core.cache.backends.redis.RedisCache"
    assert backend("") == "django.core.cache.backends.locmem.LocMemCache"
