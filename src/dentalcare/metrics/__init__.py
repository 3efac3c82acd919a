"""Prometheus metrics: request latency by route, realtime connections, outbox depth,
chat turns and pool use, served at GET /metrics.

Each service process keeps its own registry (no multi-process directory: every worker of
`serve --workers N` starts exactly as one process does). A scrape reads the process that
answered it; the gauges read from the database (outbox depth) are the clinic's whole.
"""
