"""What the API and the settings name of the téléservices, without loading their SOAP stack.

The routes are always in the API (a box without ``[teleservices]`` answers 503), so these names
are needed at start; the clients behind them (lxml, signxml, httpx) load only on a box that
uses them — about 6 MB of the daemon's memory otherwise spent for nothing.
"""

from __future__ import annotations

import enum


class Mode(enum.StrEnum):
    """How INSi authenticates the call: the structure's certificate, or the CPS's assertion."""

    CERTIFICATE = "certificate"
    CPX = "cpx"


DMP_SERVICES = ("patients", "patientCertif", "patientsPDQ", "habilitations", "registry",
                "repository")
MAX_RELAY_BYTES = 10 * 1024 * 1024
"""The largest LGO request the DMP relay takes (a TD2.1 submission with its documents)."""
