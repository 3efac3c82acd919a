"""The outbox: every e-mail and SMS the clinic sends, written in the same transaction as
the change that causes it, delivered afterwards by the workers of every service process.

- `messages` is the queue and the log at once (API.md `message`): `status` goes
  scheduled → sending → sent, or back to scheduled with a later `due_at` after a failed
  attempt (exponential back-off), or failed after the last attempt (the dead letter,
  which an admin may send again); a reminder that is no longer wanted is cancelled.
- A worker claims due rows with `FOR UPDATE SKIP LOCKED` and marks them `sending` with a
  lease (`locked_until`): no two workers in any number of processes take the same row,
  and a row whose worker died (kill -9) mid-send is taken again once the lease lapses,
  with the same `message_id` (the e-mail's Message-ID), so a resend is recognisably the
  same e-mail.
- `dedupe_key` (unique) makes an enqueue idempotent when the caller names one.
- `captured` holds the whole rendered e-mail when no SMTP server is configured in
  development: the admin reads it at /admin/mail.
- Row-level security: admins and the service see and change all; others see the
  messages of the appointments they can see (the appointments policy decides); anyone's
  transaction may add one through `enqueue_message()` (a guest's booking enqueues its
  confirmation, which the guest may not read back).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-20
"""

from alembic import context

from dentalcare.db.migrate import run_script

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE messages (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind            text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{{0,62}}$'),
    channel         text NOT NULL CHECK (channel IN ('email', 'sms')),
    to_address      text NOT NULL CHECK (length(to_address) BETWEEN 1 AND 320),
    subject         text NOT NULL DEFAULT '' CHECK (length(subject) <= 500),
    appointment_id  uuid REFERENCES appointments (id) ON DELETE SET NULL,
    user_id         uuid REFERENCES users (id) ON DELETE SET NULL,
    context         jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    status          text NOT NULL DEFAULT 'scheduled'
                    CHECK (status IN ('scheduled', 'sending', 'sent', 'failed', 'cancelled')),
    due_at          timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts    integer NOT NULL DEFAULT 8 CHECK (max_attempts >= 1),
    last_error      text CHECK (length(last_error) <= 2000),
    locked_until    timestamptz,
    message_id      text NOT NULL,
    dedupe_key      text UNIQUE,
    captured        text,
    -- clock_timestamp(): the messages of one transaction keep the order they were written in.
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- What the workers look for: due rows, and sending rows whose lease lapsed.
CREATE INDEX messages_due ON messages (due_at) WHERE status = 'scheduled';
CREATE INDEX messages_leased ON messages (locked_until) WHERE status = 'sending';
CREATE INDEX messages_appointment ON messages (appointment_id, created_at)
    WHERE appointment_id IS NOT NULL;
CREATE INDEX messages_created ON messages (created_at, id);
CREATE TRIGGER messages_touch BEFORE UPDATE ON messages
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Enqueueing goes through enqueue_message(): a guest's transaction may write a message
-- it may not read back, and ON CONFLICT (dedupe_key) must see every row to skip a
-- duplicate. The function and the table belong to the definer role (as occupancy does),
-- so the function works past row-level security and does nothing but that insert.
CREATE FUNCTION enqueue_message(
    p_id uuid, p_kind text, p_channel text, p_to text, p_subject text,
    p_appointment uuid, p_user uuid, p_context jsonb, p_due timestamptz,
    p_message_id text, p_dedupe text
) RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO messages (id, kind, channel, to_address, subject, appointment_id, user_id,
                          context, due_at, message_id, dedupe_key)
    VALUES (p_id, p_kind, p_channel, p_to, p_subject, p_appointment, p_user, p_context,
            coalesce(p_due, now()), p_message_id, p_dedupe)
    ON CONFLICT (dedupe_key) DO NOTHING;
    RETURN FOUND;
END
$$;
ALTER TABLE messages OWNER TO {definer};
ALTER FUNCTION enqueue_message(uuid, text, text, text, text, uuid, uuid, jsonb, timestamptz,
    text, text) OWNER TO {definer};
GRANT SELECT ON appointments TO {definer};
REVOKE ALL ON FUNCTION enqueue_message(uuid, text, text, text, text, uuid, uuid, jsonb,
    timestamptz, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION enqueue_message(uuid, text, text, text, text, uuid, uuid, jsonb,
    timestamptz, text, text) TO {app_role};
GRANT SELECT, UPDATE ON messages TO {app_role};

ALTER TABLE messages ENABLE ROW LEVEL SECURITY;
CREATE FUNCTION message_visible(appointment uuid) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, public AS $$
    SELECT app_role() IN ('admin', 'system')
        OR (appointment IS NOT NULL
            AND EXISTS (SELECT 1 FROM appointments a WHERE a.id = appointment))
$$;
CREATE POLICY messages_read ON messages FOR SELECT USING (message_visible(appointment_id));
CREATE POLICY messages_update ON messages FOR UPDATE
    USING (message_visible(appointment_id)) WITH CHECK (message_visible(appointment_id));
"""

DOWNGRADE = r"""
DROP FUNCTION IF EXISTS enqueue_message(uuid, text, text, text, text, uuid, uuid, jsonb,
    timestamptz, text, text);
DROP TABLE IF EXISTS messages;
DROP FUNCTION IF EXISTS message_visible(uuid);
"""


def _script(template: str) -> str:
    role = str(context.config.attributes.get("app_role", "dentalcare_app"))
    return template.format(app_role=role, definer=f"{role}_definer")


def upgrade() -> None:
    """The messages outbox."""
    run_script(_script(UPGRADE))


def downgrade() -> None:
    """No outbox."""
    run_script(_script(DOWNGRADE))
