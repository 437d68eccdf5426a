"""Device code: APDU codec, PC/SC, card applications, serial and camera, simulated devices.

Nothing here knows about HTTP or SQLite, so the same code runs in the daemon, the CLI and tests.
"""
