from enum import StrEnum


class CertificateModelKey(StrEnum):
    AUTH = "auth"
    SIGN = "sign"

    def __str__(self) -> str:
        return str(self.value)
