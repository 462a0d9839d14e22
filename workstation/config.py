"""Where the workstation keeps its data, and which database it opens."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from platformdirs import user_config_path, user_data_path

APP_NAME = "sma-workstation"
DB_ENV = "WORKSTATION_DB"


def data_dir() -> Path:
    """The user data directory (XDG_DATA_HOME on Linux), created on demand."""
    return user_data_path(APP_NAME, appauthor=False)


def config_dir() -> Path:
    return user_config_path(APP_NAME, appauthor=False)


def default_db_url() -> str:
    """The embedded SQLite default in the user data directory."""
    return f"sqlite:///{data_dir() / 'workstation.db'}"


def resolve_db_url(cli_value: str | None) -> str:
    """`--db` wins, then $WORKSTATION_DB, then the embedded default."""
    return cli_value or os.environ.get(DB_ENV) or default_db_url()


# TLS settings for a server database, passed through to the driver (libpq names) unless the URL
# already sets them: e.g. WORKSTATION_DB_SSLMODE=verify-full WORKSTATION_DB_SSLROOTCERT=/etc/ca.pem
TLS_ENV: dict[str, str] = {
    "sslmode": "WORKSTATION_DB_SSLMODE",
    "sslrootcert": "WORKSTATION_DB_SSLROOTCERT",
    "sslcert": "WORKSTATION_DB_SSLCERT",
    "sslkey": "WORKSTATION_DB_SSLKEY",
    "sslcrl": "WORKSTATION_DB_SSLCRL",
}


def tls_options() -> dict[str, str]:
    """The TLS options set in the environment (libpq parameter name -> value)."""
    return {k: os.environ[v] for k, v in TLS_ENV.items() if os.environ.get(v)}


def is_loopback(host: str | None) -> bool:
    """A server on this machine: no host (the Unix socket), a socket directory, localhost, 127/8, ::1."""
    if not host or host.startswith("/") or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


SERVER_SSLMODE = "verify-full"
"""A server off this machine is reached over TLS with its certificate and host name verified,
unless the URL or WORKSTATION_DB_SSLMODE says otherwise (explicitly, in the configuration)."""
