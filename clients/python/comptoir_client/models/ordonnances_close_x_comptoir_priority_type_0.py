from enum import StrEnum


class OrdonnancesCloseXComptoirPriorityType0(StrEnum):
    BATCH = "batch"
    INTERACTIVE = "interactive"

    def __str__(self) -> str:
        return str(self.value)
