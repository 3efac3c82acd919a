"""Cheaper booking messages: appointment links are signed, not stored (`used_links`
remembers the ones used), and the messages go in with one INSERT (issue 13).

A booking's e-mail carries four links (confirm attendance, cancel, reschedule,
unsubscribe). Stored as `link_tokens` rows they were four more inserts, four row-level
security checks and eight foreign-key checks in every booking's transaction. They are
now HMAC-signed with the service's secret (`links.service`): the link itself says what
it is for, for which appointment and address, and until when, and the database holds
nothing until someone uses one. Using it records its digest here, once (the primary
key decides between two clicks racing); a used link that has expired anyway is pruned
on the next use. Account links (password reset, verification, invitations) stay rows.

`enqueue_messages()` writes a booking's messages (the e-mail and its reminders) in one
set-based INSERT instead of one PL/pgSQL call per message (0010's `enqueue_message()`,
which stays for the old callers' sake): the same definer rights, the same ON CONFLICT
(dedupe_key) DO NOTHING, the ids it inserted returned.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02
"""

from alembic import context

from dentalcare.db.migrate import run_script

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE used_links (
    digest      bytea PRIMARY KEY CHECK (length(digest) = 32),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX used_links_expiry ON used_links (expires_at);
ALTER TABLE used_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE used_links FORCE ROW LEVEL SECURITY;
-- Links are used under system claims only (the service checks the signature first).
CREATE POLICY used_links_system ON used_links FOR ALL
    USING (app_role() = 'system') WITH CHECK (app_role() = 'system');
GRANT SELECT, INSERT, DELETE ON used_links TO {app_role};

CREATE FUNCTION enqueue_messages(
    p_id uuid[], p_kind text[], p_channel text[], p_to text[], p_subject text[],
    p_appointment uuid[], p_user uuid[], p_context text[], p_due timestamptz[],
    p_message_id text[], p_dedupe text[]
) RETURNS SETOF uuid
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    INSERT INTO messages (id, kind, channel, to_address, subject, appointment_id, user_id,
                          context, due_at, message_id, dedupe_key)
    SELECT m.id, m.kind, m.channel, m.to_address, m.subject, m.appointment_id, m.user_id,
           m.context::jsonb, coalesce(m.due_at, now()), m.message_id, m.dedupe_key
    FROM unnest(p_id, p_kind, p_channel, p_to, p_subject, p_appointment, p_user, p_context,
                p_due, p_message_id, p_dedupe)
         AS m(id, kind, channel, to_address, subject, appointment_id, user_id, context,
              due_at, message_id, dedupe_key)
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id
$$;
ALTER FUNCTION enqueue_messages(uuid[], text[], text[], text[], text[], uuid[], uuid[],
    text[], timestamptz[], text[], text[]) OWNER TO {definer};
REVOKE ALL ON FUNCTION enqueue_messages(uuid[], text[], text[], text[], text[], uuid[],
    uuid[], text[], timestamptz[], text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION enqueue_messages(uuid[], text[], text[], text[], text[], uuid[],
    uuid[], text[], timestamptz[], text[], text[]) TO {app_role};
"""

DOWNGRADE = r"""
DROP FUNCTION IF EXISTS enqueue_messages(uuid[], text[], text[], text[], text[], uuid[],
    uuid[], text[], timestamptz[], text[], text[]);
DROP TABLE IF EXISTS used_links;
"""


def _script(template: str) -> str:
    role = str(context.config.attributes.get("app_role", "dentalcare_app"))
    return template.format(app_role=role, definer=f"{role}_definer")


def upgrade() -> None:
    """Create used_links and enqueue_messages()."""
    run_script(_script(UPGRADE))


def downgrade() -> None:
    """Drop them (links signed since then stop working: they were never rows)."""
    run_script(_script(DOWNGRADE))
