"""Decisions of the daemon, below the HTTP routers and above the scheduler and drivers."""
