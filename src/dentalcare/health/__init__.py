"""Service health."""
