"""Database plumbing: the embedded server, the pool, claims-scoped transactions, migrations."""
