"""Message status changes are realtime events: the `messages` channel (issue 13 item 7).

- A deferred trigger on `messages`, `AFTER UPDATE OF status` and only when the status
  really changes (scheduled → sending → sent, a failed attempt back to scheduled, failed,
  cancelled, a retry), logs one event on table `messages` with the API.md `message`
  fields — no body, no context, no link tokens, no kept copy — and the dentist of the
  message's appointment, so that the hub and the replay queries narrow it to that dentist.
  Only messages about an appointment are logged (account e-mails are nobody's live log).
- INSERTs are not logged: a booking writes its messages in the same transaction as the
  appointment, whose own event tells a page to refetch its log; an event per message
  would add work to every booking.
- Erasure (0016) blanks a message's address and subject: a second trigger overwrites
  them in the logged copies of that message too, as 0014 does for appointments.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02
"""

from alembic import context

from dentalcare.db.migrate import run_script

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE FUNCTION record_message_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(7216011);
    INSERT INTO realtime_events (seq, table_name, op, record, old_record, dentist_id)
    VALUES (nextval('realtime_events_seq'), 'messages', 'UPDATE',
            jsonb_build_object('id', NEW.id, 'kind', NEW.kind, 'channel', NEW.channel,
                               'to_address', NEW.to_address, 'subject', NEW.subject,
                               'appointment_id', NEW.appointment_id, 'status', NEW.status,
                               'due_at', NEW.due_at, 'sent_at', NEW.sent_at,
                               'attempts', NEW.attempts, 'last_error', NEW.last_error),
            jsonb_build_object('status', OLD.status),
            (SELECT a.dentist_id FROM appointments a WHERE a.id = NEW.appointment_id));
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER messages_status_realtime
    AFTER UPDATE OF status ON messages
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.appointment_id IS NOT NULL)
    EXECUTE FUNCTION record_message_event();

-- An erased message's address and subject leave its logged copies as well.
CREATE FUNCTION erase_message_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    UPDATE realtime_events
    SET record = record || jsonb_build_object('to_address', NEW.to_address,
                                              'subject', NEW.subject)
    WHERE table_name = 'messages' AND record ->> 'id' = NEW.id::text;
    RETURN NULL;
END
$$;
CREATE TRIGGER messages_erased_realtime
    AFTER UPDATE OF to_address ON messages FOR EACH ROW
    WHEN (OLD.to_address IS DISTINCT FROM NEW.to_address AND NEW.appointment_id IS NOT NULL)
    EXECUTE FUNCTION erase_message_events();

ALTER FUNCTION record_message_event() OWNER TO {definer};
ALTER FUNCTION erase_message_events() OWNER TO {definer};
REVOKE ALL ON FUNCTION record_message_event(), erase_message_events() FROM PUBLIC;
"""

DOWNGRADE = r"""
DROP TRIGGER IF EXISTS messages_erased_realtime ON messages;
DROP TRIGGER IF EXISTS messages_status_realtime ON messages;
DROP FUNCTION IF EXISTS record_message_event(), erase_message_events();
DELETE FROM realtime_events WHERE table_name = 'messages';
"""


def _script(template: str) -> str:
    role = str(context.config.attributes.get("app_role", "dentalcare_app"))
    return template.format(app_role=role, definer=f"{role}_definer")


def upgrade() -> None:
    """Log message status changes on the realtime event log."""
    run_script(_script(UPGRADE))


def downgrade() -> None:
    """Stop logging them (and forget the logged ones)."""
    run_script(_script(DOWNGRADE))
