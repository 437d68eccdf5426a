"""Simulated devices that speak the real protocols (demo mode, technician training, tests)."""
