"""Dashboard settings, all from the environment, with defaults that run on a laptop with nothing else installed.

LABWEB_DATA_DIR     where the SQLite database, the secret key and logs live (default ./var)
DATABASE_URL        postgres://... to use PostgreSQL instead of SQLite
REDIS_URL           redis://... to use channels_redis instead of the in-memory layer
LABWEB_SECRET_KEY   the secret key (default: generated once, kept in the data dir)
LABWEB_DEBUG        1 to turn debug on (default off)
LABWEB_ALLOWED_HOSTS, LABWEB_CSRF_TRUSTED_ORIGINS   comma-separated
"""

from __future__ import annotations

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
    "labweb.records",
    "labweb.fleet",
    "labweb.live",
    "labweb.spooling",
    "labweb.transfers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
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
            ],
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
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if os.environ.get("REDIS_URL"):
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # max_connections: redis-py's default pool of 100 crashed consumers under load (DESIGN 5.1).
            "CONFIG": {"hosts": [{"address": os.environ["REDIS_URL"], "max_connections": 400}], "capacity": 1000},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}}

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

STATIC_URL = "/static/"
STATICFILES_DIRS = [FRONTEND_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"

# How long an agent may stay silent before its rig is shown offline (DESIGN: within 10 s of dying).
LABWEB_RIG_SILENCE_SECONDS = float(os.environ.get("LABWEB_RIG_SILENCE_SECONDS", "6"))
# How often the relay sends one batched frame of changed rigs to browsers (DESIGN 5.1: 50 ms holds p99 < 100 ms).
LABWEB_RELAY_TICK_SECONDS = float(os.environ.get("LABWEB_RELAY_TICK_SECONDS", "0.05"))
# How long a command may wait for the agent's reply before it is recorded as unanswered.
LABWEB_COMMAND_TIMEOUT_SECONDS = float(os.environ.get("LABWEB_COMMAND_TIMEOUT_SECONDS", "30"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
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
