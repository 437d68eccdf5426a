"""One module per card application; each talks to any object with ``transmit(bytes) -> bytes``."""
