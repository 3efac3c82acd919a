"""Weekly schedules, exceptions and the free-slot engine."""
