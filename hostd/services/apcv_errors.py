"""ApCV outcomes the API maps to problems, kept apart from the SOAP client so the mapping
(``hostd.api.problems``) does not load httpx and the SOAP layer on a box without ApCV."""

from __future__ import annotations


class ApcvRefused(Exception):
    """The GIE refused the request (unknown, reused or expired QR content, expired context…);
    ``service_codes`` are the fault's codes, for the LGO to switch on."""

    def __init__(self, detail: str, service_codes: tuple[str, ...]) -> None:
        super().__init__(detail)
        self.service_codes = service_codes


class ApcvUnavailable(Exception):
    """The GIE could not be reached, answered a temporary fault or something unusable."""
