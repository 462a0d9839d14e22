"""A PostgreSQL server of the test's own with TLS (a throwaway cluster run as the `postgres` OS
user on a free port of 127.0.0.1) and the CA that signed its certificate. Skips where the
machine has no PostgreSQL binaries or no `postgres` user to run them as (CI here has both)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class TlsServer:
    port: int
    ca_file: Path
    other_ca_file: Path
    """A CA that did not sign the server's certificate (verification must fail with it)."""


def _bin_dir() -> Path | None:
    root = Path("/usr/lib/postgresql")
    found = sorted(root.glob("*/bin/initdb")) if root.is_dir() else []
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pem(obj: x509.Certificate) -> bytes:
    return obj.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _ca(name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _server_cert(
    ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def tls_postgres() -> Iterator[TlsServer]:
    """Start the server, yield it, stop it and remove its files. Its directory is made directly
    under the system's temp dir: pytest's own is 0700 root, which the postgres user cannot enter."""
    bin_dir = _bin_dir()
    if bin_dir is None or shutil.which("runuser") is None or os.geteuid() != 0:
        pytest.skip("needs PostgreSQL's binaries and root to run them as the postgres user")
    try:
        pg = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres OS user")
    tmp = Path(tempfile.mkdtemp(prefix="workstation-tls-pg-"))
    os.chown(tmp, pg.pw_uid, pg.pw_gid)
    data = tmp / "data"
    as_pg = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_pg, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True)  # fmt: skip
    ca, ca_key = _ca("Workstation test CA")
    other, _ = _ca("Someone else's CA")
    cert, key = _server_cert(ca, ca_key)
    (data / "server.crt").write_bytes(_pem(cert))
    (data / "server.key").write_bytes(_key_pem(key))
    for f in ("server.crt", "server.key"):
        os.chown(data / f, pg.pw_uid, pg.pw_gid)
        os.chmod(data / f, 0o600)
    ca_file, other_file = tmp / "ca.pem", tmp / "other-ca.pem"
    ca_file.write_bytes(_pem(ca))
    other_file.write_bytes(_pem(other))
    port = _free_port()
    with (data / "postgresql.conf").open("a", encoding="utf-8") as f:
        f.write(
            f"\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{tmp}'\n"
            "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
            "ssl_min_protocol_version = 'TLSv1.2'\n"
        )
    # Clear text is refused by the server itself: only TLS connections are let in.
    (data / "pg_hba.conf").write_text(
        "hostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n", encoding="utf-8"
    )
    log = tmp / "server.log"
    subprocess.run([*as_pg, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "start"],
                   check=True, capture_output=True)  # fmt: skip
    try:
        yield TlsServer(port, ca_file, other_file)
    finally:
        subprocess.run([*as_pg, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(tmp, ignore_errors=True)
