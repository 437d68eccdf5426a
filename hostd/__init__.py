"""The Comptoir daemon: LAN API, shared-card scheduler, audit log."""
