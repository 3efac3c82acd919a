"""The clinic itself: its settings, closures and chairs (operatories)."""
