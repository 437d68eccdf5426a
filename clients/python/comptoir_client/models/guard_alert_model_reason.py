from enum import StrEnum


class GuardAlertModelReason(StrEnum):
    OPEN_AT_ANOTHER_COUNTER = "open-at-another-counter"
    RESCANNED_WHILE_OPEN = "rescanned-while-open"

    def __str__(self) -> str:
        return str(self.value)
