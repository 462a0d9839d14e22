"""The FIX versions the workstation speaks: 4.2, 4.4, and 5.0 SP2 over the FIXT.1.1 transport.

One place says, per version, its BeginString, the QuickFIX data dictionaries (QuickFIX's own spec
files, shipped in resources/fix/) and the session settings that select them: DataDictionary for
FIX 4.x; TransportDataDictionary, AppDataDictionary and DefaultApplVerID for FIXT.1.1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import resources
from engine.errors import ConfigurationError


@dataclass(frozen=True)
class FixVersion:
    """A FIX application version and the transport that carries it."""

    name: str  # "FIX.4.2", "FIX.4.4", "FIX.5.0SP2"
    begin_string: str  # BeginString (8) on the wire
    dictionary_file: str  # the application data dictionary in resources/fix/
    appl_ver_id: str | None = None  # DefaultApplVerID (1137) over FIXT.1.1: "9" is FIX.5.0SP2

    @property
    def fixt(self) -> bool:
        return self.begin_string == "FIXT.1.1"

    def dictionary(self) -> Path:
        return resources.path("fix", self.dictionary_file)

    def session_lines(self, dictionary: Path | None = None) -> list[str]:
        """The [SESSION] settings choosing this version and its dictionaries (`dictionary`: a
        broker's own application dictionary instead of QuickFIX's)."""
        app = dictionary or self.dictionary()
        if not self.fixt:
            return [f"BeginString={self.begin_string}", f"DataDictionary={app}"]
        return [
            f"BeginString={self.begin_string}",
            f"DefaultApplVerID={self.name}",
            f"TransportDataDictionary={transport_dictionary()}",
            f"AppDataDictionary={app}",
        ]


FIX42 = FixVersion("FIX.4.2", "FIX.4.2", "FIX42.xml")
FIX44 = FixVersion("FIX.4.4", "FIX.4.4", "FIX44.xml")
FIX50SP2 = FixVersion("FIX.5.0SP2", "FIXT.1.1", "FIX50SP2.xml", appl_ver_id="9")
VERSIONS = {v.name: v for v in (FIX42, FIX44, FIX50SP2)}
# DefaultApplVerID may be written as the enum (9) or its name (FIX.5.0SP2).
_APPL_VER_IDS = {"9": FIX50SP2, "FIX.5.0SP2": FIX50SP2}


def transport_dictionary() -> Path:
    return resources.path("fix", "FIXT11.xml")


def version(name: str, where: str = "FIX version") -> FixVersion:
    """The version called `name` (FIX.4.2, FIX.4.4, FIX.5.0SP2; FIXT.1.1 means 5.0 SP2)."""
    found = VERSIONS.get(name.strip()) or (FIX50SP2 if name.strip() == "FIXT.1.1" else None)
    if found is None:
        raise ConfigurationError(f"{where}: {name!r} is not a FIX version we speak ({', '.join(VERSIONS)})")
    return found


def of_session(
    begin_string: str, default_appl_ver_id: str | None = None, where: str = "session"
) -> FixVersion:
    """The version of a session from its BeginString (and DefaultApplVerID over FIXT.1.1)."""
    if begin_string != "FIXT.1.1":
        return version(begin_string, where)
    found = _APPL_VER_IDS.get((default_appl_ver_id or "FIX.5.0SP2").strip())
    if found is None:
        raise ConfigurationError(
            f"{where}: DefaultApplVerID {default_appl_ver_id!r} is not one we speak over FIXT.1.1 "
            "(FIX.5.0SP2, or 9)"
        )
    return found
