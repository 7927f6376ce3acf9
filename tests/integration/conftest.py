"""A real Celery worker process on a real Redis broker, sharing the test database."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def _unavailable(reason):
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@pytest.fixture
def redis_url():
    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis://"):
        _unavailable("integration tests need REDIS_URL pointing at a Redis server")
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as error:
        _unavailable(f"Redis at {url} is not reachable: {error}")
    # The suite owns this Redis database (TEST_REDIS_URL): start from an empty queue.
    client.flushdb()
    return url


def _database_url():
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        _unavailable("integration tests run on PostgreSQL")
    user = db["USER"] or ""
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return (
        f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


@pytest.fixture
def celery_worker(transactional_db, redis_url, tmp_path):
    """Starts `celery worker` as a separate process; yields the folder its emails are written to."""
    mail_dir = tmp_path / "mail"
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": "",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "VAR_DIR": str(tmp_path),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "SITE_URL": "https://triangulate.example.org",
    }
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"test-{os.getpid()}@localhost",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while "ready." not in (tmp_path / "worker.log").read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(
                "the Celery worker did not start:\n" + (tmp_path / "worker.log").read_text()
            )
        time.sleep(0.2)
    try:
        yield mail_dir
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def wait_for(condition, *, seconds=30.0, what="the condition"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")
