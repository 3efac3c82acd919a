"""Python realtime SDK: `RealtimeSyncClient` follows appointments, availability and
dentists over the `/api/realtime` WebSocket, resuming by `seq` across reconnects."""

from dentalcare.client.backoff import Backoff
from dentalcare.client.events import RealtimeError, RealtimeEvent
from dentalcare.client.subscriptions import Subscription
from dentalcare.client.sync_client import RealtimeSyncClient

__all__ = ["Backoff", "RealtimeError", "RealtimeEvent", "RealtimeSyncClient", "Subscription"]
