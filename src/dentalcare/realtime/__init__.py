"""The realtime sync engine: the log listener, the hub and the WebSocket endpoint."""
