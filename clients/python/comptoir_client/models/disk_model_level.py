from enum import StrEnum


class DiskModelLevel(StrEnum):
    FULL = "full"
    OK = "ok"
    WARNING = "warning"

    def __str__(self) -> str:
        return str(self.value)
