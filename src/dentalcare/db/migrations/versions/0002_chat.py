"""Booking assistant: chat sessions (state and transcript), private to their owner by RLS.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from alembic import context

from dentalcare.db.migrate import run_script

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


UPGRADE = r"""
-- The session a transaction works on: an anonymous session's unguessable id is the
-- capability to use it, so the data layer names it and RLS admits only that one row.
CREATE FUNCTION app_chat_session() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('app.chat_session', true), '')::uuid
$$;

CREATE TABLE chat_sessions (
    id          uuid PRIMARY KEY,
    -- The patient the session belongs to; NULL for a guest.
    user_id     uuid REFERENCES users (id) ON DELETE CASCADE,
    state       jsonb NOT NULL,
    messages    jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(messages) = 'array'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chat_sessions_user ON chat_sessions (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX chat_sessions_updated ON chat_sessions (updated_at);
CREATE TRIGGER chat_sessions_touch BEFORE UPDATE ON chat_sessions
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Visible only as the session named by the transaction, and then only to its owner
-- (a guest session: to whoever holds its id; a patient's: to that patient's token).
CREATE FUNCTION chat_session_visible(session uuid, owner uuid)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT app_role() = 'system'
        OR (session = app_chat_session() AND (owner IS NULL OR owner = app_user_id()))
$$;

ALTER TABLE chat_sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY chat_sessions_read ON chat_sessions FOR SELECT
    USING (chat_session_visible(id, user_id));
CREATE POLICY chat_sessions_insert ON chat_sessions FOR INSERT
    WITH CHECK (app_role() = 'system'
                OR (id = app_chat_session()
                    AND (user_id IS NULL
                         OR (app_role() = 'patient' AND user_id = app_user_id()))));
CREATE POLICY chat_sessions_update ON chat_sessions FOR UPDATE
    USING (chat_session_visible(id, user_id))
    WITH CHECK (chat_session_visible(id, user_id));

-- No DELETE: sessions are kept (a retention job can run as the owner of the table).
GRANT SELECT, INSERT ON chat_sessions TO {app_role};
-- The owner never changes; only the conversation does.
GRANT UPDATE (state, messages, updated_at) ON chat_sessions TO {app_role};
"""

DOWNGRADE = r"""
DROP TABLE IF EXISTS chat_sessions;
DROP FUNCTION IF EXISTS chat_session_visible, app_chat_session;
"""


def _app_role() -> str:
    return str(context.config.attributes.get("app_role", "dentalcare_app"))


def upgrade() -> None:
    """Create chat_sessions with its policies and grants."""
    run_script(UPGRADE.format(app_role=_app_role()))


def downgrade() -> None:
    """Drop chat_sessions."""
    run_script(DOWNGRADE.format(app_role=_app_role()))
