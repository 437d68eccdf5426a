"""Read-only HTML status page for the pharmacy (same mTLS listener as the API)."""
