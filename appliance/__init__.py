"""Counter terminal firmware (MicroPython subset)."""
