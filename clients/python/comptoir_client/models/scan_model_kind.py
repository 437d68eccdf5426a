from enum import StrEnum


class ScanModelKind(StrEnum):
    APCV = "apcv"
    ORDONNANCE = "ordonnance"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return str(self.value)
