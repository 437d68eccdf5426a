from enum import StrEnum


class ScanEventModelType(StrEnum):
    CLOSED = "closed"
    DEVICE = "device"
    GUARD = "guard"
    SCAN = "scan"

    def __str__(self) -> str:
        return str(self.value)
