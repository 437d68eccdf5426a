from enum import StrEnum


class KeyRole(StrEnum):
    AUTH = "auth"
    SIGN = "sign"

    def __str__(self) -> str:
        return str(self.value)
