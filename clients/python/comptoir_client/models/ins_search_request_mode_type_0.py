from enum import StrEnum


class InsSearchRequestModeType0(StrEnum):
    CERTIFICATE = "certificate"
    CPX = "cpx"

    def __str__(self) -> str:
        return str(self.value)
