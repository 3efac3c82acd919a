"""One-click links in messages: signed, single-purpose, expiring, single-use tokens."""
