from enum import StrEnum


class ApcvReadModelSource(StrEnum):
    APCV_NFC = "apcv-nfc"
    APCV_QR = "apcv-qr"

    def __str__(self) -> str:
        return str(self.value)
