"""Python realtime SDK."""
