"""How long a simulated card takes, so demos and benchmarks see the card as the bottleneck.

Figures are card-side processing times, not transport: a CPS3 (IAS-ECC) computes an RSA-2048
private-key operation in a few hundred milliseconds; plain reads and PIN checks take a few
milliseconds. Tests use :meth:`Timing.zero`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Timing:
    apdu_s: float = 0.0
    """Fixed cost of every APDU (T=1 exchange at the reader's clock)."""
    operation_s: dict[str, float] = field(default_factory=dict)
    """Extra cost by operation name: "sign", "internal_authenticate", "verify", "read"."""

    @classmethod
    def realistic(cls) -> Timing:
        return cls(
            apdu_s=0.004,
            operation_s={
                "sign": 0.300,
                "internal_authenticate": 0.300,
                "decipher": 0.300,
                "verify": 0.030,
                "read": 0.002,
            },
        )

    @classmethod
    def zero(cls) -> Timing:
        return cls()

    @classmethod
    def scaled(cls, factor: float) -> Timing:
        base = cls.realistic()
        return cls(
            apdu_s=base.apdu_s * factor,
            operation_s={k: v * factor for k, v in base.operation_s.items()},
        )

    def spend(self, operation: str | None = None) -> None:
        """Sleep for one APDU plus the named operation's cost."""
        delay = self.apdu_s + (self.operation_s.get(operation, 0.0) if operation else 0.0)
        if delay > 0:
            time.sleep(delay)
