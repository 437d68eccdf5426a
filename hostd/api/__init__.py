"""HTTP layer: thin versioned routers; every error becomes a problem+json here and only here."""
