from enum import StrEnum


class Outcome(StrEnum):
    ABANDONED = "abandoned"
    FINISHED = "finished"

    def __str__(self) -> str:
        return str(self.value)
