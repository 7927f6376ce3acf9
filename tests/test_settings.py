"""The settings, the README's variable table, production checks and docker-compose.yml."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from config.env import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
# Defaults that follow DEBUG; the README describes them in words.
FOLLOW_DEBUG = {"EMAIL_BACKEND", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS"}


def _readme_variables():
    rows = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        match = re.match(r"\| `([A-Z_]+)` \| ([^|]+) \|", line)
        if match:
            rows[match.group(1)] = match.group(2).strip()
    return rows


def test_readme_lists_exactly_the_variables_settings_read():
    assert set(_readme_variables()) == set(REGISTRY)


def test_readme_defaults_match_settings():
    for name, default in _readme_variables().items():
        if name in FOLLOW_DEBUG:
            continue
        expected = f"`{REGISTRY[name].default}`" if REGISTRY[name].default else "(empty)"
        assert default == expected, name


def _manage(*args, env_overrides, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in REGISTRY}
    env.update({"VAR_DIR": str(tmp_path), "PATH": os.environ["PATH"]}, **env_overrides)
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def _production(tmp_path):
    return {
        "DEBUG": "0",
        "SECRET_KEY": "k3y-" + "x7Qp9Lm2Zr8Vt4Wn6Yb1Hc5Jd0Fg3Ks" * 2,
        "ALLOWED_HOSTS": "triangulate.example.org",
        "SITE_URL": "https://triangulate.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
    }


def test_production_settings_pass_check_deploy(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        tmp_path=tmp_path,
        env_overrides=_production(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


# Printed by a production-configured process, so the values are those DEBUG=0 really gives.
_SHOW_SETTINGS = """
import json
from django.conf import settings
from exchange.exports import exports_dir
names = [
    "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
    "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_SSL_REDIRECT",
    "X_FRAME_OPTIONS", "SECURE_REFERRER_POLICY", "SECURE_CONTENT_TYPE_NOSNIFF",
    "SESSION_COOKIE_AGE", "SESSION_EXPIRE_AT_BROWSER_CLOSE", "STATIC_ROOT", "MEDIA_ROOT",
    "MEDIA_URL", "STATICFILES_DIRS",
]
shown = {name: getattr(settings, name) for name in names}
shown["EXPORTS"] = exports_dir()
print(json.dumps(shown, default=str))
"""


def test_production_settings_are_hardened(tmp_path):
    result = _manage(
        "shell", "-c", _SHOW_SETTINGS, tmp_path=tmp_path, env_overrides=_production(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.splitlines()[-1])
    assert shown == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_SSL_REDIRECT": True,
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_REFERRER_POLICY": "same-origin",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SESSION_COOKIE_AGE": 12 * 3600,
        "SESSION_EXPIRE_AT_BROWSER_CLOSE": True,
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(tmp_path / "uploads"),
        "MEDIA_URL": "/media/",
        "STATICFILES_DIRS": [str(ROOT / "static")],
        "EXPORTS": str(tmp_path / "exports"),
    }
    # Uploads and exports lie outside everything served as static files.
    served = [Path(shown["STATIC_ROOT"]), *map(Path, shown["STATICFILES_DIRS"])]
    for private in (Path(shown["MEDIA_ROOT"]), Path(shown["EXPORTS"])):
        for root in served:
            assert not private.is_relative_to(root) and not root.is_relative_to(private)


def test_production_settings_refuse_to_start_without_secret_key(tmp_path):
    result = _manage("check", tmp_path=tmp_path, env_overrides={"DEBUG": "0"})
    assert result.returncode == 1
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr


def test_bad_boolean_is_named(tmp_path):
    result = _manage("check", tmp_path=tmp_path, env_overrides={"DEBUG": "maybe"})
    assert "DEBUG must be one of 1/0, true/false, yes/no, on/off; got 'maybe'" in result.stderr


def test_demo_study_refuses_to_load_in_production(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only when DEBUG is on"):
        call_command("seed_demo")


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_services_with_health_checks(compose):
    services = compose["services"]
    assert set(services) == {"db", "redis", "migrate", "web", "worker"}
    for name in ("db", "redis", "web", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert services["db"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    assert services["web"]["command"][:2] == ["gunicorn", "config.wsgi:application"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--no-input"]
    assert services["web"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    assert set(compose["volumes"]) == {"pgdata", "redisdata", "uploads", "exports"}
    # Exports are written by the worker and served by the web server: one volume for both.
    for name in ("web", "worker"):
        assert "exports:/var/lib/triangulate/exports" in compose["services"][name]["volumes"]


def test_compose_environment_uses_only_variables_the_settings_read(compose):
    for name in ("web", "worker", "migrate"):
        environment = compose["services"][name]["environment"]
        assert set(environment) <= set(REGISTRY), name
        assert environment["DEBUG"] == "0"
        assert environment["DATABASE_URL"].startswith("postgres://triangulate:")
        assert environment["DATABASE_URL"].endswith("@db:5432/triangulate")
        assert environment["REDIS_URL"] == "redis://redis:6379/0"
        assert environment["VAR_DIR"] == "/var/lib/triangulate"
    db_env = compose["services"]["db"]["environment"]
    assert (db_env["POSTGRES_DB"], db_env["POSTGRES_USER"]) == ("triangulate", "triangulate")


def test_compose_files_it_refers_to_exist(compose):
    assert compose["services"]["web"]["build"] == "."
    assert compose["services"]["web"]["healthcheck"]["test"] == ["CMD", "python", "bin/healthcheck"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("# One image") and "FROM python:3.11-slim-bookworm" in dockerfile
    assert (ROOT / "bin" / "healthcheck").stat().st_mode & 0o111


def test_suite_runs_on_the_database_it_was_given(db):
    from django.db import connection

    url = os.environ.get("DATABASE_URL", "")
    expected = "postgresql" if url.startswith("postgres") else "sqlite"
    assert connection.vendor == expected
