from enum import StrEnum


class ReaderDetailModelCardKindType0(StrEnum):
    CONTACTLESS = "contactless"
    CPS = "cps"
    UNKNOWN = "unknown"
    VITALE = "vitale"

    def __str__(self) -> str:
        return str(self.value)
