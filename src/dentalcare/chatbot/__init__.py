"""The booking assistant."""
