from enum import StrEnum


class InsSearchModelMode(StrEnum):
    CERTIFICATE = "certificate"
    CPX = "cpx"

    def __str__(self) -> str:
        return str(self.value)
