from enum import StrEnum


class ClientModelRole(StrEnum):
    ADMIN = "admin"
    COUNTER = "counter"
    SERVER = "server"

    def __str__(self) -> str:
        return str(self.value)
