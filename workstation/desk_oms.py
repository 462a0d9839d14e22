"""Composition of the desk's OMS link: the OMS service as `workstation oms` wires it, with the FIX
sessions of the user's QuickFIX settings file (connected only when the trader clicks Connect)."""

from __future__ import annotations

import queue
import re
from pathlib import Path
from typing import Any

from engine.oms.messages import Inbound
from engine.shared.lease import owner_id
from ui.oms_link import FixSessions, GatewayFactory, OmsLink, default_manager
from workstation.compose import simulated_market
from workstation.config import config_dir, data_dir


def default_fix_config() -> Path:
    return config_dir() / "fix" / "sessions.cfg"


def configured_brokers(config: Path) -> list[str]:
    """The TargetCompIDs (brokers) of a QuickFIX settings file, in file order."""
    text = config.read_text(encoding="utf-8")
    return list(dict.fromkeys(re.findall(r"^\s*TargetCompID\s*=\s*(\S+)", text, flags=re.MULTILINE)))


def fix_gateway_factory(
    config: Path,
    state_dir: Path,
    credentials: Any = "keyring",
    *,
    lease_db: Any = None,
    lease_owner: str | None = None,
) -> GatewayFactory:
    """Makes the quickfix initiator of `config` (store and logs under `state_dir`) on Connect.
    With `lease_db` it routes only while it holds the sessions' routing lease (shared desk)."""

    def make(inbox: queue.SimpleQueue[Inbound]) -> FixSessions:
        from connectors.fix.gateway import FixGateway

        creds = credentials
        if creds == "keyring":
            from connectors.credentials import KeyringCredentialStore

            creds = KeyringCredentialStore()
        return FixGateway(config, state_dir, inbox, creds, lease_db=lease_db, lease_owner=lease_owner)

    return make


def desk_oms(desk: Any, fix_config: Path | None = None) -> OmsLink:
    """The desk's OMS link; sessions come from `fix_config` (default: the user's settings file)."""
    config = fix_config or default_fix_config()
    manager = default_manager(desk.database, desk.bus, desk.clock, simulated_market(desk.database))
    if not config.is_file():
        return OmsLink(manager, label=f"no FIX settings file at {config}")
    return OmsLink(
        manager,
        fix_gateway_factory(
            config,
            data_dir() / "fix",
            lease_db=desk.database,
            lease_owner=owner_id(getattr(desk.user, "username", "") or ""),
        ),
        label=f"sessions of {config}",
        brokers=configured_brokers(config),
    )


def wire_desk_oms(desk: Any, fix_config: Path | None = None) -> None:
    """Let the desk make its OMS link on first use (ui.oms_link.link_of, in a worker)."""
    desk.oms_factory = lambda: desk_oms(desk, fix_config)
