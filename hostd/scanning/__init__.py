"""What a scan becomes: classification, the ordonnance guard, per-counter scan events."""
