"""A worker's claim of a message is no longer a realtime event (issue 13).

Migration 0024 logged every status change of a message about an appointment. A
delivered e-mail so logged two events: `scheduled → sending` when a worker claimed it,
and `sending → sent` a few milliseconds later. Each event costs the worker's claim
transaction an advisory lock, a lookup of the appointment's dentist and a row in
`realtime_events`, and costs the hub a fan-out.

`sending` is now left out. A live message log goes from `scheduled` to `sent` (or, after
a failed attempt, back to `scheduled` with its error, or to `failed`). A page that reads
the log while a message is in flight still sees `sending` in the REST answer.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03
"""

from dentalcare.db.migrate import run_script

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

TRIGGER = r"""
DROP TRIGGER IF EXISTS messages_status_realtime ON messages;
CREATE CONSTRAINT TRIGGER messages_status_realtime
    AFTER UPDATE OF status ON messages
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ({condition})
    EXECUTE FUNCTION record_message_event();
"""
CHANGED = "OLD.status IS DISTINCT FROM NEW.status AND NEW.appointment_id IS NOT NULL"


def upgrade() -> None:
    """Log status changes except the claim (to `sending`)."""
    run_script(TRIGGER.format(condition=f"{CHANGED} AND NEW.status <> 'sending'"))


def downgrade() -> None:
    """Log every status change again (migration 0024's trigger)."""
    run_script(TRIGGER.format(condition=CHANGED))
