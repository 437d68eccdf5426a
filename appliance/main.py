"""Board entry point: MicroPython runs ``main.py`` at boot."""

import asyncio

from appliance import firmware, hal_board

asyncio.run(firmware.run(firmware.Terminal(hal_board.PicoBoard())))
