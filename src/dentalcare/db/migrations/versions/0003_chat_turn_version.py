"""Chat sessions get a version; the unused insert_appointment_as() goes.

Chat sessions get a version: a turn is saved only if no other turn was saved meanwhile.

A turn no longer holds the session's row lock while it thinks; it loads the session,
answers with no transaction open, and saves with `WHERE version = <loaded>`.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from alembic import context

from dentalcare.db.migrate import run_script

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


UPGRADE = r"""
ALTER TABLE chat_sessions ADD COLUMN version integer NOT NULL DEFAULT 0;
GRANT UPDATE (version) ON chat_sessions TO {app_role};
-- Bookings now insert inside the request's unit of work (claims set when it began);
-- the one-statement "claims + insert" shortcut has no caller left.
DROP FUNCTION IF EXISTS insert_appointment_as(text, uuid, text, jsonb);
"""

DOWNGRADE = r"""
ALTER TABLE chat_sessions DROP COLUMN IF EXISTS version;
"""


def _app_role() -> str:
    return str(context.config.attributes.get("app_role", "dentalcare_app"))


def upgrade() -> None:
    """Add chat_sessions.version."""
    run_script(UPGRADE.format(app_role=_app_role()))


def downgrade() -> None:
    """Drop chat_sessions.version."""
    run_script(DOWNGRADE.format(app_role=_app_role()))
