"""Dashboard settings, all from the environment, with defaults that run on a laptop with nothing else installed.

LABWEB_DATA_DIR     where the SQLite database, the secret key and logs live (default ./var)
DATABASE_URL        postgres://... to use PostgreSQL instead of SQLite
REDIS_URL           redis://... to use channels_redis instead of the in-memory layer
LABWEB_SECRET_KEY   the secret key (default: generated once, kept in the data dir)
LABWEB_DEBUG        1 to turn debug on (default off)
LABWEB_ALLOWED_HOSTS, LABWEB_CSRF_TRUSTED_ORIGINS   comma-separated
Behind TLS (see README "Security"): LABWEB_SECURE_COOKIES, LABWEB_HSTS_SECONDS, LABWEB_SSL_REDIRECT,
LABWEB_TRUST_X_FORWARDED_PROTO; LABWEB_CSP, LABWEB_CSP_REPORT_ONLY; LABWEB_LOGIN_FAILURES,
LABWEB_LOGIN_LOCKOUT_MINUTES.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
FRONTEND_DIR = BASE_DIR / "frontend"


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


DATA_DIR = Path(os.environ.get("LABWEB_DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """The key from the environment, else one generated on first start and kept so sessions survive restarts."""
    if os.environ.get("LABWEB_SECRET_KEY"):
        return os.environ["LABWEB_SECRET_KEY"]
    key_file = DATA_DIR / "secret_key"
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        # O_EXCL: two processes starting at once must agree on one key.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return key_file.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key


SECRET_KEY = _secret_key()
DEBUG = _env_flag("LABWEB_DEBUG")
ALLOWED_HOSTS = _env_list("LABWEB_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = _env_list("LABWEB_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "axes",  # login throttling: failed logins per user and address, in the database (every process sees them)
    "labweb.records",
    "labweb.fleet",
    "labweb.live",
    "labweb.spooling",
    "labweb.transfers",
    "labweb.history",
    "labweb.alerts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "labweb.security.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into the lockout page
]

ROOT_URLCONF = "labweb.urls"
ASGI_APPLICATION = "labweb.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [FRONTEND_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "labweb.live.vocabulary.vocabulary_context",
                "labweb.alerts.context.alerts_context",
            ],
            "builtins": ["labweb.live.templatetags.labweb_format"],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)
    if os.environ.get("DATABASE_URL")
    else {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "labweb.sqlite3",
        # A file name for the test database too: ChannelsLiveServerTestCase refuses in-memory SQLite.
        "TEST": {"NAME": DATA_DIR / "test_labweb.sqlite3"},
        "OPTIONS": {
            # WAL + a busy timeout: agents, the relay and page views write at once.
            # synchronous=FULL: the dashboard acks a rig's events once they are committed, and the rig then
            # deletes them; in WAL mode NORMAL may lose the last commits to a power cut (FULL does not).
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
        },
        # Kept open: the relay's database calls run one after another on one thread, and reopening SQLite
        # (with its PRAGMAs) for each was most of an agent connect's cost.
        "CONN_MAX_AGE": 60,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if os.environ.get("REDIS_URL"):
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # max_connections: redis-py's default pool of 100 crashed consumers under load (DESIGN 5.1).
            "CONFIG": {"hosts": [{"address": os.environ["REDIS_URL"], "max_connections": 400}], "capacity": 1000,
                       # Two dashboards (two labs, or a test run beside a real one) may share one Redis.
                       "prefix": os.environ.get("LABWEB_CHANNEL_PREFIX", "asgi")},
        }
    }
else:
    # Channels' in-memory layer, cleaning expired messages once a second rather than on every receive (labweb.live.layer).
    CHANNEL_LAYERS = {"default": {"BACKEND": "labweb.live.layer.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out user and address before any check
    "django.contrib.auth.backends.ModelBackend",
]
# After LABWEB_LOGIN_FAILURES failed logins for one user name from one address, that pair is locked out for
# LABWEB_LOGIN_LOCKOUT_MINUTES (other users and addresses are not); a success resets the count.
# `labweb axes_reset` unlocks everyone; the admin lists attempts and lockouts. Behind a proxy, run daphne with
# --proxy-headers so the client's address (not the proxy's) is the one counted.
AXES_FAILURE_LIMIT = int(os.environ.get("LABWEB_LOGIN_FAILURES", "5"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=float(os.environ.get("LABWEB_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "labweb.security.lockout_response"  # a 429 page saying why and for how long, and a log line
AXES_VERBOSE = False  # one warning line per lockout (labweb's), not axes' own lines per attempt

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("LABWEB_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

# Served behind TLS (README "Security"): cookies only over HTTPS, HSTS, and (behind a proxy that terminates TLS)
# trust its X-Forwarded-Proto. Off by default: the embedded default serves plain HTTP on a lab network.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _env_flag("LABWEB_SECURE_COOKIES")
SECURE_HSTS_SECONDS = int(os.environ.get("LABWEB_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_flag("LABWEB_HSTS_INCLUDE_SUBDOMAINS")
SECURE_SSL_REDIRECT = _env_flag("LABWEB_SSL_REDIRECT")
if _env_flag("LABWEB_TRUST_X_FORWARDED_PROTO"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy of every page (labweb.security); pages carry no inline script or style.
# LABWEB_CSP replaces the policy ("" turns it off); LABWEB_CSP_REPORT_ONLY=1 only reports violations.
# Scripts are ES modules from /static/, styles one stylesheet, previews data: PNGs, the live link a same-origin
# websocket ('self' covers ws:/wss: to the page's own host).
LABWEB_CSP = os.environ.get("LABWEB_CSP", (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
))
LABWEB_CSP_REPORT_ONLY = _env_flag("LABWEB_CSP_REPORT_ONLY")

STATIC_URL = "/static/"
STATICFILES_DIRS = [FRONTEND_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"

# How long an agent may stay silent before its rig is shown offline (DESIGN: within 10 s of dying).
LABWEB_RIG_SILENCE_SECONDS = float(os.environ.get("LABWEB_RIG_SILENCE_SECONDS", "6"))
# How often the relay sends one batched frame of changed rigs to browsers (DESIGN 5.1: 50 ms holds p99 < 100 ms).
LABWEB_RELAY_TICK_SECONDS = float(os.environ.get("LABWEB_RELAY_TICK_SECONDS", "0.05"))
# A browser with more than this queued in the server's send buffer gets no frames until it drained, then a snapshot.
# Allocations between two young collections of the garbage collector in a daphne process (labweb.collector);
# 0 leaves CPython's defaults and freezes nothing.
LABWEB_GC_YOUNG_THRESHOLD = int(os.environ.get("LABWEB_GC_YOUNG_THRESHOLD", "50000"))
LABWEB_BROWSER_BACKLOG_BYTES = int(os.environ.get("LABWEB_BROWSER_BACKLOG_BYTES", str(4 * 1024 * 1024)))
# How long a command may wait for the agent's reply before it is recorded as unanswered.
LABWEB_COMMAND_TIMEOUT_SECONDS = float(os.environ.get("LABWEB_COMMAND_TIMEOUT_SECONDS", "30"))

# -- Alerts, history and metrics (labweb.alerts, labweb.history); README "Alerts, history and metrics" ----------
def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


# Each rule's threshold; an admin may override one in the database (Admin > Alerts > Rules).
LABWEB_ALERT_RIG_OFFLINE_MINUTES = _env_float("LABWEB_ALERT_RIG_OFFLINE_MINUTES", 5)
LABWEB_ALERT_DISK_FREE_GB = _env_float("LABWEB_ALERT_DISK_FREE_GB", 20)
LABWEB_ALERT_DISK_FULL_HOURS = _env_float("LABWEB_ALERT_DISK_FULL_HOURS", 2)
LABWEB_ALERT_DROPS_QUIET_MINUTES = _env_float("LABWEB_ALERT_DROPS_QUIET_MINUTES", 5)
LABWEB_ALERT_FINALIZE_HOURS = _env_float("LABWEB_ALERT_FINALIZE_HOURS", 6)
LABWEB_ALERT_COPY_STALL_MINUTES = _env_float("LABWEB_ALERT_COPY_STALL_MINUTES", 10)
LABWEB_ALERT_CLOCK_SKEW_SECONDS = _env_float("LABWEB_ALERT_CLOCK_SKEW_SECONDS", 5)
LABWEB_ALERT_ECHO_REFUSED_QUIET_MINUTES = _env_float("LABWEB_ALERT_ECHO_REFUSED_QUIET_MINUTES", 10)
LABWEB_ALERTS_DISABLED = _env_list("LABWEB_ALERTS_DISABLED", "")
LABWEB_ALERT_CHECK_SECONDS = _env_float("LABWEB_ALERT_CHECK_SECONDS", 5)
# The dashboard's address as people reach it, for the links in notifications.
LABWEB_URL = os.environ.get("LABWEB_URL", "http://127.0.0.1:8000").rstrip("/")
# E-mail notifications go through Django's mail settings.
EMAIL_HOST = os.environ.get("LABWEB_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("LABWEB_EMAIL_PORT") or 25)
EMAIL_HOST_USER = os.environ.get("LABWEB_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("LABWEB_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = _env_flag("LABWEB_EMAIL_STARTTLS")
EMAIL_USE_SSL = _env_flag("LABWEB_EMAIL_SSL")
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("LABWEB_EMAIL_FROM", "labweb@localhost")
LABWEB_HISTORY_RETENTION_DAYS = _env_float("LABWEB_HISTORY_RETENTION_DAYS", 30)
LABWEB_HISTORY_BUCKET_SECONDS = int(os.environ.get("LABWEB_HISTORY_BUCKET_SECONDS") or 10)
# The alert checks, notifications and history sampling a dashboard process runs (off only in the in-process test
# suite, whose request loops end with each request; the tests run them with real processes or directly).
LABWEB_PERIODIC_JOBS = os.environ.get("LABWEB_PERIODIC_JOBS", "1") != "0"
# /metrics answers a request with `Authorization: Bearer <token>`, or from an address in the allow-list.
LABWEB_METRICS_TOKEN = os.environ.get("LABWEB_METRICS_TOKEN", "")
LABWEB_METRICS_ALLOW = _env_list("LABWEB_METRICS_ALLOW", "127.0.0.1/32,::1/128")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # QuietRefusals: a 403 or a suspicious request is one line, not a traceback anyone could repeat at will.
    "filters": {"quiet_refusals": {"()": "labweb.security.QuietRefusals"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["quiet_refusals"]}},
    # One handler at the root: labweb's records propagate to it (and to pytest's log capture).
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "labweb": {"level": os.environ.get("LABWEB_LOG_LEVEL", "INFO")},
        "django": {"level": "WARNING"},
    },
}

# -- The JSON API for scripts (labweb.api): Django REST framework with django-filter, and an OpenAPI 3 schema whose
# docs page takes its JavaScript and CSS from labweb itself (drf-spectacular-sidecar): labs are on closed networks.
INSTALLED_APPS += ["rest_framework", "django_filters", "drf_spectacular", "drf_spectacular_sidecar", "labweb.api"]
REST_FRAMEWORK = {
    # A personal token for scripts; the browser's login session (with CSRF) for the docs page.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "labweb.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "labweb.api.pagination.ApiPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "labweb.api.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "labweb API",
    "DESCRIPTION": "Read the lab's records and drive its rigs from scripts, with the browser's rules. Authenticate "
                   "with a personal token (`Authorization: Bearer lwa_...`, made on the API page, /api/tokens/).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One named enum per set of states, however many fields share it.
    "ENUM_NAME_OVERRIDES": {
        "RigStateEnum": "rigs.messages.RIG_STATES",
        "SessionStateEnum": "labweb.records.choices.SessionState",
        "CopyStateEnum": "labweb.records.choices.CopyState",
        "CommandStateEnum": "labweb.fleet.choices.CommandState",
        "TransferOutcomeEnum": "labweb.transfers.choices.TransferOutcome",
        "SpoolOutcomeEnum": "labweb.spooling.choices.SpoolOutcome",
    },
    # No validator badge: Swagger UI would send the schema to validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None, "deepLinking": True},
}
