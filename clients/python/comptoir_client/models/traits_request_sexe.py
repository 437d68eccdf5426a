from enum import StrEnum


class TraitsRequestSexe(StrEnum):
    F = "F"
    M = "M"

    def __str__(self) -> str:
        return str(self.value)
