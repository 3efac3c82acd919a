"""Server-rendered portals."""
