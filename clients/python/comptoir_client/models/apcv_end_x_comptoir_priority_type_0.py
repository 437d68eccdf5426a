from enum import StrEnum


class ApcvEndXComptoirPriorityType0(StrEnum):
    BATCH = "batch"
    INTERACTIVE = "interactive"

    def __str__(self) -> str:
        return str(self.value)
