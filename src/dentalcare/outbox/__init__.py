"""The outbox: e-mail and SMS written in the caller's transaction, delivered afterwards.

`enqueue(conn, kind=..., to_email=..., ...)` is what the domains call, on the asyncpg
connection of their open transaction: the message commits with the change or not at
all. `render(kind, context)` turns a kind's Jinja2 templates (templates/KIND.subject.txt,
KIND.txt, KIND.html) into the subject and the two bodies. The delivery workers
(`outbox.worker`) run in every service process.
"""

from dentalcare.outbox.enqueue import cancel_pending, enqueue, move_pending
from dentalcare.outbox.rendering import Rendered, render

__all__ = ["Rendered", "cancel_pending", "enqueue", "move_pending", "render"]
