from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    COUNTER = "counter"
    SERVER = "server"

    def __str__(self) -> str:
        return str(self.value)
