"""Triangulate's settings: one file, every value that varies read from the environment.

The embedded default (no variables set) is SQLite under VAR_DIR and a filesystem Celery broker, so
a laptop runs the whole app, background jobs included, with nothing else installed. Production sets
DEBUG=0, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and REDIS_URL (see docker-compose.yml).
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool(
    "DEBUG", False, "Development mode: detailed error pages, console email, demo data allowed."
)
VAR_DIR = Path(
    env_str(
        "VAR_DIR",
        "var",
        "Folder for the SQLite database, the filesystem broker and uploads; "
        "relative paths are under the checkout.",
    )
)
if not VAR_DIR.is_absolute():
    VAR_DIR = BASE_DIR / VAR_DIR

_DEV_SECRET = "dev-only-insecure-key-never-use-in-production-0123456789abcdef"
SECRET_KEY = env_str("SECRET_KEY", "", "Django's secret key; required when DEBUG is off.") or (
    _DEV_SECRET if DEBUG else ""
)
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", "localhost,127.0.0.1", "Comma-separated host names the site answers to."
)
CSRF_TRUSTED_ORIGINS = env_list(
    "CSRF_TRUSTED_ORIGINS",
    "",
    "Comma-separated origins (scheme and host) trusted for form posts behind a proxy.",
)
SITE_URL = env_str(
    "SITE_URL", "http://127.0.0.1:8000", "Public address of the site, used for links in emails."
).rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "projects",
    "exchange",
    "meetings",
    "fieldnotes",
    "coding",
    "panel",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.db_errors.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = (
    env_str(
        "DATABASE_URL",
        "",
        "Database address; empty means SQLite at VAR_DIR/triangulate.sqlite3. Example: postgres://user@host:5432/triangulate",
    )
    or f"sqlite:///{VAR_DIR / 'triangulate.sqlite3'}"
)
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL and immediate transactions let the web server and the Celery worker write to one file
    # without "database is locked" errors under ordinary use.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "projects:list"
LOGOUT_REDIRECT_URL = "login"
# Failed log-ins are counted per user name and per address: see config/login.py.
LOGIN_ATTEMPTS = env_int(
    "LOGIN_ATTEMPTS",
    5,
    "Failed log-ins for one user name (four times as many from one address) before log-in is "
    "refused for a while.",
)
LOGIN_LOCKOUT_MINUTES = env_int(
    "LOGIN_LOCKOUT_MINUTES",
    15,
    "Minutes log-in stays refused after too many failures; failures count over the same span.",
)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str(
    "TIME_ZONE", "Europe/London", "Time zone for showing and entering meeting times."
)
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Uploaded fieldnote files are read into text and not kept; MEDIA_ROOT is outside the web root
# (a sibling of STATIC_ROOT) and no URL serves it, should anything ever be written there.
MEDIA_ROOT = VAR_DIR / "uploads"
MEDIA_URL = "media/"
UPLOAD_MAX_BYTES = (
    env_int("UPLOAD_MAX_MB", 10, "Largest fieldnote file accepted, in megabytes.") * 1_048_576
)
# A .docx or .odt is a zip: cap what it may unpack to, against zip bombs. A 10 MB .docx of dense
# text unpacks to about 40 MB of XML; parsing takes about ten times that in memory.
UPLOAD_MAX_UNPACKED_BYTES = 6 * UPLOAD_MAX_BYTES
# Pasted text and lay panel answers arrive as form fields; allow them the same size as a file.
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES + 1_048_576
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000
# A whole project imported from a .qdpx: the archive, and what it may unpack to (zip bombs).
IMPORT_MAX_BYTES = (
    env_int(
        "IMPORT_MAX_MB", 200, "Largest .qdpx project archive accepted for import, in megabytes."
    )
    * 1_048_576
)

# Email: the console in development; SMTP otherwise.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
    "Django email backend; the console when DEBUG is on, SMTP otherwise.",
)
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_HOST = env_str("EMAIL_HOST", "localhost", "SMTP server.")
EMAIL_PORT = env_int("EMAIL_PORT", 25, "SMTP port.")
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "", "SMTP user name.")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "", "SMTP password.")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False, "Use STARTTLS for SMTP.")
DEFAULT_FROM_EMAIL = env_str(
    "DEFAULT_FROM_EMAIL",
    "Triangulate <triangulate@localhost>",
    "Sender of invitations and password resets.",
)

# Celery: Redis when REDIS_URL or CELERY_BROKER_URL is set, else a broker in plain files under
# VAR_DIR, so that `make run` has a real worker process without Redis.
REDIS_URL = env_str(
    "REDIS_URL",
    "",
    "Redis address, e.g. redis://127.0.0.1:6379/0; the Celery broker and the cache when set.",
)
# The cache holds log-in failure counts: in Redis they are shared by every web worker; the local
# memory fallback counts per process.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
CELERY_BROKER_URL = (
    env_str(
        "CELERY_BROKER_URL",
        "",
        "Celery broker; defaults to REDIS_URL, else the filesystem broker under VAR_DIR.",
    )
    or REDIS_URL
    or "filesystem://"
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool(
    "CELERY_TASK_ALWAYS_EAGER", False, "Run background jobs inside the web process (tests only)."
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
# A job is acknowledged only when it has finished, and put back if its worker dies, so a killed
# worker's job runs again; every task is written to be safe to run twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A running agreement report writes a heartbeat every half second or so; one silent this long has
# lost its worker, and the report page shows it as failed with a "Run again" button.
REPORT_STALL_SECONDS = env_int(
    "REPORT_STALL_SECONDS",
    120,
    "Seconds without a heartbeat after which a running background job (agreement report, "
    "project export) counts as failed.",
)

# Production hardening; each is off in development.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if env_bool(
        "TRUST_X_FORWARDED_PROTO",
        False,
        "Trust the X-Forwarded-Proto header of a TLS-terminating proxy, and the address it "
        "appends to X-Forwarded-For as the client's (for log-in limits).",
    )
    else None
)
SECURE_SSL_REDIRECT = env_bool(
    "SECURE_SSL_REDIRECT", not DEBUG, "Redirect plain HTTP to HTTPS; on when DEBUG is off."
)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int(
    "SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, "HSTS max-age; a year when DEBUG is off."
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
# A login lasts a working day at most, and ends with the browser: fieldnotes are confidential
# research data, and a shared ward computer should not stay signed in overnight.
SESSION_COOKIE_AGE = (
    env_int("SESSION_HOURS", 12, "Hours a login lasts before signing in again.") * 3600
)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {
        "handlers": ["console"],
        "level": env_str("LOG_LEVEL", "INFO", "Log level for the console log."),
    },
}
