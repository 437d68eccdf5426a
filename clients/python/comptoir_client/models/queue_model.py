from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.percentiles import Percentiles


T = TypeVar("T", bound="QueueModel")


@_attrs_define
class QueueModel:
    """
    Attributes:
        completed (int):
        depth (int): Jobs waiting for the card
        failed (int):
        running (bool):
        service_ms (Percentiles):
        utilisation (float): Share of the uptime the card spent on jobs, 0..1
        wait_ms (Percentiles):
    """

    completed: int
    depth: int
    failed: int
    running: bool
    service_ms: Percentiles
    utilisation: float
    wait_ms: Percentiles

    def to_dict(self) -> dict[str, Any]:
        completed = self.completed

        depth = self.depth

        failed = self.failed

        running = self.running

        service_ms = self.service_ms.to_dict()

        utilisation = self.utilisation

        wait_ms = self.wait_ms.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "completed": completed,
                "depth": depth,
                "failed": failed,
                "running": running,
                "service_ms": service_ms,
                "utilisation": utilisation,
                "wait_ms": wait_ms,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.percentiles import Percentiles

        d = dict(src_dict)
        completed = d.pop("completed")

        depth = d.pop("depth")

        failed = d.pop("failed")

        running = d.pop("running")

        service_ms = Percentiles.from_dict(d.pop("service_ms"))

        utilisation = d.pop("utilisation")

        wait_ms = Percentiles.from_dict(d.pop("wait_ms"))

        queue_model = cls(
            completed=completed,
            depth=depth,
            failed=failed,
            running=running,
            service_ms=service_ms,
            utilisation=utilisation,
            wait_ms=wait_ms,
        )

        return queue_model
