from enum import StrEnum


class CpsReaderModelPin(StrEnum):
    BLOCKED = "blocked"
    LOCKED = "locked"
    UNLOCKED = "unlocked"

    def __str__(self) -> str:
        return str(self.value)
