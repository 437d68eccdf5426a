from enum import StrEnum


class ReaderModelCardKindType0(StrEnum):
    CONTACTLESS = "contactless"
    CPS = "cps"
    UNKNOWN = "unknown"
    VITALE = "vitale"

    def __str__(self) -> str:
        return str(self.value)
