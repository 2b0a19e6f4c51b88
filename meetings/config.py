"""Configuration from the environment. Every variable is listed in README.md."""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path


class ConfigError(RuntimeError):
    """A misconfigured value; start-up stops with its one-line message."""


def _secret_key(data_dir: Path) -> str:
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}")
    if value <= 0:
        raise ConfigError(f"{name} must be positive, not {raw!r}")
    return value


def load_config(overrides: dict | None = None) -> dict:
    overrides = overrides or {}
    data_dir = Path(overrides.get("DATA_DIR") or os.environ.get("DATA_DIR") or "instance").resolve()
    database_url = overrides.get("SQLALCHEMY_DATABASE_URI") or os.environ.get("DATABASE_URL") \
        or f"sqlite:///{data_dir / 'meetings.db'}"
    if database_url.startswith("postgres://") or database_url.startswith("postgresql://"):
        # psycopg 3 cooperates with gevent; name it explicitly so SQLAlchemy does not look for psycopg2.
        database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]
    max_upload_mb = _int("MAX_UPLOAD_MB", 100)
    config = {
        "DATA_DIR": str(data_dir),
        "SECRET_KEY": overrides.get("SECRET_KEY") or _secret_key(data_dir),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # A pooled connection to a database server may have died with a restart: test it at checkout. A SQLite
        # file's cannot, and the test is a statement more on every request.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": not database_url.startswith("sqlite")},
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        # The pub/sub channel of this installation's workers (two installations may share one Redis).
        "REDIS_CHANNEL": os.environ.get("REDIS_CHANNEL") or "phonghop",
        # Extra origins allowed to open sockets (kiosks on another host); the page's own origin always is.
        "ALLOWED_ORIGINS": [o.strip() for o in os.environ.get("ALLOWED_ORIGINS", "").split(",") if o.strip()],
        "ORG_P12_PATH": os.environ.get("ORG_P12_PATH") or None,
        "ORG_P12_PASSPHRASE": os.environ.get("ORG_P12_PASSPHRASE") or None,
        "TSA_URL": os.environ.get("TSA_URL") or None,
        # PEM bundle of the roots signatures are trusted against (default: the top of ORG_P12_PATH's chain).
        "TRUST_ROOTS_PATH": os.environ.get("TRUST_ROOTS_PATH") or None,
        "BEHIND_NGINX": os.environ.get("BEHIND_NGINX") == "1",
        "MAX_UPLOAD_MB": max_upload_mb,
        "MAX_CONTENT_LENGTH": max_upload_mb * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "LANGUAGES": ("vi", "en"),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("BEHIND_NGINX") == "1",
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead: a tablet left open all day still works
        "JSON_SORT_KEYS": False,
    }
    if database_url.startswith("sqlite"):
        data_dir.mkdir(parents=True, exist_ok=True)
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}
    config.update(overrides)
    return config
