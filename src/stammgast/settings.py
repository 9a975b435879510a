"""Django settings for stammgast: embedded SQLite by default, PostgreSQL via DATABASE_URL."""

import datetime as dt
import os
from pathlib import Path

import dj_database_url
import dj_email_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("STAMMGAST_VAR_DIR", Path.cwd() / "var")).resolve()

DEBUG = os.environ.get("STAMMGAST_DEBUG", "") == "1"


def _secret_key() -> str:
    """Read the key from the environment, else keep one generated per installation in var/."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "secret_key"
    if not path.exists():
        from django.utils.crypto import get_random_string

        path.write_text(get_random_string(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    # Its templates and static files: the API's docs with Swagger UI served by us, no CDN.
    "ninja",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "axes",
    # Staff two-factor log-in: TOTP authenticator apps and recovery codes (docs/security.md).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "stammgast.core",
    "stammgast.tenants",
    "stammgast.customers",
    "stammgast.cards",
    "stammgast.ledger",
    "stammgast.pricing",
    "stammgast.bills",
    "stammgast.exchange",
    "stammgast.payments",
    "stammgast.portal",
    "stammgast.privacy",
    "stammgast.selfservice",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # django-csp's middleware with the policy string built once per process.
    "stammgast.core.middleware.ContentSecurityPolicy",
    # Outside the rest: turns Django's own error pages under /api/ into JSON.
    "stammgast.core.middleware.ApiErrorsAsJson",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Reads of personal data a request notes are written after its answer is sent.
    "stammgast.core.access.AccessLogMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): the session passed the second step of the log-in.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "stammgast.tenants.middleware.TenantMiddleware",
    # A session without its second factor, or whose tenant asks for one the user has not
    # set up yet, reaches only the two-factor pages.
    "stammgast.portal.middleware.TwoFactorGate",
    # Only where replicas are configured: a client reads its own writes.
    "stammgast.core.middleware.ReadYourWrites",
    "stammgast.core.middleware.DatabaseBusy",
    "ninja.compatibility.files.fix_request_files_middleware",
    # Last: turns a log-in refused for too many failures into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# --- headers -----------------------------------------------------------------------------
# Every answer, portal and API alike: no script, style, font or picture from anywhere but
# this server, nothing inline, no framing (docs/security.md).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Behind TLS (a proxy that terminates it and sets X-Forwarded-Proto): STAMMGAST_HTTPS=1.
HTTPS = os.environ.get("STAMMGAST_HTTPS", "") == "1"
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
# The API's interactive docs and schema need a staff log-in or an API key unless this is 1.
PUBLIC_API_DOCS = os.environ.get("STAMMGAST_PUBLIC_API_DOCS", "") == "1"

# Online top-ups (docs/payments.md): the payment providers this installation offers, by
# name. The sandbox moves no money, so it is offered only where asked for (or in DEBUG).
STAMMGAST_PAYMENT_PROVIDERS = [
    name.strip()
    for name in os.environ.get("STAMMGAST_PAYMENT_PROVIDERS", "sandbox" if DEBUG else "").split(",")
    if name.strip()
]
# The key the sandbox signs its callbacks with; empty: derived from SECRET_KEY.
STAMMGAST_PAYMENT_SANDBOX_SECRET = os.environ.get("STAMMGAST_PAYMENT_SANDBOX_SECRET", "")

ROOT_URLCONF = "stammgast.urls"
WSGI_APPLICATION = "stammgast.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'stammgast.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests run on a file like production (WAL, one writer, busy timeout), not on the
    # shared in-memory database whose table locks fail at once; one file per test process.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test_stammgast_{os.getpid()}.sqlite3")}
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers go on while one writer writes; IMMEDIATE takes the write lock at
        # BEGIN so two writers queue instead of failing with "database is locked" mid-way.
        # secure_delete: a deleted or overwritten value is zeroed in the file, not left in
        # a free page (an erased person's data must leave the file, docs/privacy.md).
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        " PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000; PRAGMA secure_delete=ON;",
        "transaction_mode": "IMMEDIATE",
        # A writer waits up to 30 s for another's transaction before it is answered 503
        # (core.middleware.DatabaseBusy); requests are bounded far below that.
        "timeout": 30,
    }
else:
    # Django turns psycopg's prepared statements off, and its own cursors never prepare
    # (they bind values on the client). The tills' hot reads (customers/records.py) ask for
    # them: such a read is then planned once per connection instead of on every request.
    # STAMMGAST_PREPARED_STATEMENTS=0 turns them off behind a pooler that cannot keep them
    # (PgBouncer before 1.21 in transaction mode).
    if os.environ.get("STAMMGAST_PREPARED_STATEMENTS", "1") != "0":
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
    # One test database per test process, so parallel runs on one server do not collide.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get(
        "TEST_DATABASE_NAME", f"test_stammgast_{os.getpid()}"
    )

# More clusters for tenants (docs/scaling.md): STAMMGAST_CLUSTERS="eu2=postgres://…,eu3=…".
# "default" is the tenant directory (and a cluster itself); every query of a tenant goes to
# its home cluster through core.routing.
CLUSTER_ALIAS_RE = r"[a-z][a-z0-9_]{0,29}"


def _shared_options() -> dict:
    """What every PostgreSQL database takes from the default's options."""
    options = DATABASES["default"].get("OPTIONS", {})
    return {key: value for key, value in options.items() if key == "prepare_threshold"}


def _clusters(text: str) -> dict[str, dict]:
    import re

    found = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        alias, sep, url = item.partition("=")
        alias = alias.strip()
        if not sep or not re.fullmatch(CLUSTER_ALIAS_RE, alias) or alias == "default":
            raise ImproperlyConfigured(
                f"STAMMGAST_CLUSTERS: {item.split('=')[0]!r} is not ALIAS=URL with an alias of"
                " lower-case letters, digits and underscores (not 'default')."
            )
        config = dj_database_url.parse(url.strip(), conn_max_age=60)
        if not config["ENGINE"].endswith("postgresql"):
            raise ImproperlyConfigured(f"STAMMGAST_CLUSTERS: cluster {alias!r} is not PostgreSQL.")
        config["OPTIONS"] = {**_shared_options(), **config.get("OPTIONS", {})}
        test_name = DATABASES["default"].get("TEST", {}).get("NAME")
        config["TEST"] = {"NAME": f"{test_name}_{alias}"} if test_name else {}
        found[alias] = config
    return found


def _clusters_file(path: str) -> tuple[str, str]:
    """STAMMGAST_CLUSTERS_FILE: one `alias = url` per line (`alias.replica = url` for a
    replica), `#` starts a comment. Returns (clusters, replicas) in the variables' form."""
    clusters, replicas = [], []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ImproperlyConfigured(f"STAMMGAST_CLUSTERS_FILE: {exc}") from None
    for number, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, url = (part.strip() for part in line.partition("="))
        if not sep or not url:
            raise ImproperlyConfigured(
                f"STAMMGAST_CLUSTERS_FILE line {number}: write ALIAS = URL or ALIAS.replica = URL."
            )
        alias, dot, kind = name.partition(".")
        if dot and kind != "replica":
            raise ImproperlyConfigured(
                f"STAMMGAST_CLUSTERS_FILE line {number}: {name!r}: only ALIAS.replica is known."
            )
        (replicas if dot else clusters).append(f"{alias}={url}")
    return ",".join(clusters), ",".join(replicas)


_CLUSTERS = os.environ.get("STAMMGAST_CLUSTERS", "")
_REPLICAS = os.environ.get("STAMMGAST_REPLICAS", "")
if os.environ.get("STAMMGAST_CLUSTERS_FILE"):
    _from_file = _clusters_file(os.environ["STAMMGAST_CLUSTERS_FILE"])
    _CLUSTERS = ",".join(filter(None, (_CLUSTERS, _from_file[0])))
    _REPLICAS = ",".join(filter(None, (_REPLICAS, _from_file[1])))
if _CLUSTERS:
    if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        raise ImproperlyConfigured(
            "STAMMGAST_CLUSTERS needs PostgreSQL: set DATABASE_URL to the directory's cluster."
        )
    DATABASES.update(_clusters(_CLUSTERS))

# Streaming replicas of a cluster, for the reads that scan (search, lists, dashboard,
# export): STAMMGAST_REPLICAS="second=postgres://…:5434/…,default=postgres://…" (a cluster
# may have several). Their aliases are "<cluster>_replica<n>". A replica further behind
# than STAMMGAST_REPLICA_MAX_LAG seconds is skipped.
STAMMGAST_REPLICAS: dict[str, list[str]] = {}
STAMMGAST_REPLICA_MAX_LAG = float(os.environ.get("STAMMGAST_REPLICA_MAX_LAG", "30"))
for _item in filter(None, (p.strip() for p in _REPLICAS.split(","))):
    _cluster, _sep, _url = _item.partition("=")
    if not _sep or _cluster.strip() not in DATABASES:
        raise ImproperlyConfigured(
            f"STAMMGAST_REPLICAS: {_cluster.strip()!r} is not a configured cluster"
            f" (known: {', '.join(DATABASES)})."
        )
    _cluster = _cluster.strip()
    _alias = f"{_cluster}_replica{len(STAMMGAST_REPLICAS.get(_cluster, [])) + 1}"
    _config = dj_database_url.parse(_url.strip(), conn_max_age=60)
    _config["OPTIONS"] = {**_shared_options(), **_config.get("OPTIONS", {})}
    # Under tests the replica reads the primary's test database, which replication
    # brings it; Django must neither create nor migrate it.
    _config["TEST"] = {"MIRROR": _cluster}
    STAMMGAST_REPLICAS.setdefault(_cluster, []).append(_alias)
    DATABASES[_alias] = _config

# Behind a connection pooler in transaction mode (PgBouncer before 1.21, or without
# max_prepared_statements) add ?pool_mode=transaction to that database's URL: no prepared
# statements and no server-side cursors there, which such a pooler cannot keep between
# transactions. (A prepared read that fails that way turns them off by itself: records.py.)
for _config in DATABASES.values():
    if _config.get("OPTIONS", {}).pop("pool_mode", None) == "transaction":
        _config["OPTIONS"].pop("prepare_threshold", None)
        _config["DISABLE_SERVER_SIDE_CURSORS"] = True
# Tests only: "alias=other" makes the test run use other's test database for alias (a
# cluster reached through PgBouncer, say), as for replicas above.
for _item in filter(None, os.environ.get("STAMMGAST_TEST_MIRRORS", "").split(",")):
    _alias, _sep, _other = _item.partition("=")
    if _alias.strip() in DATABASES and _other.strip() in DATABASES:
        DATABASES[_alias.strip()]["TEST"] = {"MIRROR": _other.strip()}
# The databases as configured (a test set-up replaces a mirror's settings with its
# primary's; the placement tests point such a connection back where it was configured).
DATABASES_AS_CONFIGURED = {alias: dict(config) for alias, config in DATABASES.items()}
DATABASE_ROUTERS = ["stammgast.core.routing.TenantRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("German")), ("en", _("English"))]
# English dates as "3 Dec 2026" (stammgast/formats/en); German stays Django's "03.12.2026".
FORMAT_MODULE_PATH = ["stammgast.formats"]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Berlin")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- log-in throttling (django-axes, counted in the database: every process sees it) -------
# Refused after 10 failures of one username from one address, or 10 failures of any
# usernames from one address, for 15 minutes; a successful log-in clears its username's
# count. The portal's log-in and the admin's alike (docs/security.md).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, on the cluster where the user lives (docs/scaling.md).
    "stammgast.tenants.backends.PlacedModelBackend",
]
AXES_FAILURE_LIMIT = 10
AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "stammgast.portal.views.locked_out"
# The client's address is REMOTE_ADDR: a forwarded-for header is set by the client and
# cannot be trusted unless a known proxy sets it (then let the proxy set REMOTE_ADDR).
AXES_CLIENT_IP_CALLABLE = "stammgast.portal.views.client_ip"
AXES_VERBOSE = False

# Two-factor log-in (django-otp): the name authenticator apps show, and how long a
# password checked in the first step waits for the code.
OTP_TOTP_ISSUER = "stammgast"
STAMMGAST_SECOND_STEP_SECONDS = 300

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False

CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
        }
        if os.environ.get("REDIS_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# E-mail through one URL (dj-email-url): "console:" (the default: mails are printed),
# "smtp://user:password@host:587/?tls=True", "smtps://...", "file:///folder", "memory:".
EMAIL_URL = os.environ.get("EMAIL_URL", "console:")
_email = dj_email_url.parse(EMAIL_URL)
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
EMAIL_TIMEOUT = 20
if _email.get("EMAIL_FILE_PATH"):
    # dj-email-url drops the leading slash of an absolute folder.
    EMAIL_FILE_PATH = "/" + _email["EMAIL_FILE_PATH"].lstrip("/")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "stammgast@localhost")

NINJA_PAGINATION_PER_PAGE = 50
# A third-party memo of 1,000,000 characters is up to 6 MB of JSON when every character
# is escaped (\u00fc); larger bodies are answered with 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024

# Customer pictures: what a till or portal may upload.
CUSTOMER_PICTURE_MAX_BYTES = 2 * 1024 * 1024
CUSTOMER_PICTURE_MAX_PIXELS = 4096 * 4096
# Country whose dialling conventions apply to phone numbers written without +CC.
DEFAULT_PHONE_REGION = os.environ.get("DEFAULT_PHONE_REGION", "DE")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# Seconds the access log's rows gather before one insert writes them (core/access.py);
# 0: each request's rows are written as its response closes.
STAMMGAST_ACCESS_LOG_DELAY = float(os.environ.get("STAMMGAST_ACCESS_LOG_DELAY", "0.5"))
