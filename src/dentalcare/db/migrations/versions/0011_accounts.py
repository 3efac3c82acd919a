"""Accounts and one-click links: link tokens, reminder opt-outs, verified e-mail addresses.

- `link_tokens`: one row per link sent in a message (confirm attendance, cancel,
  reschedule, unsubscribe, password reset, e-mail verification, staff invitation). The
  link carries the row's id and a random secret whose sha256 the row keeps; the row says
  what the link is for, until when, and whether it was used (single use: `used_at` is
  set once, under a row lock). Private to the service's `system` claims: no caller reads
  another's tokens.
- `reminder_optouts`: e-mail addresses (lower case) that asked for no more reminders;
  transactional messages still go.
  `reminders_opted_out(address)` (security definer) answers for one address under any
  claims, so a booking's reminders can be left out in the booker's own transaction.
- `users.email_verified_at`: when a patient proved the address is theirs.

Revision ID: 0011_accounts
Revises: 0010
Create Date: 2026-12-02
"""

from alembic import context

from dentalcare.db.migrate import run_script

revision = "0011_accounts"
down_revision = "0010"
branch_labels = None
depends_on = None


UPGRADE = r"""
CREATE TABLE link_tokens (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- sha256 of the link's secret half: the database alone cannot make a working link.
    secret_hash     bytea NOT NULL CHECK (length(secret_hash) = 32),
    purpose         text NOT NULL CHECK (purpose IN (
                        'confirm_attendance', 'cancel', 'reschedule', 'unsubscribe',
                        'password_reset', 'email_verification', 'staff_invitation')),
    appointment_id  uuid REFERENCES appointments (id) ON DELETE CASCADE,
    user_id         uuid REFERENCES users (id) ON DELETE CASCADE,
    email           text CHECK (email IS NULL OR length(email) BETWEEN 3 AND 254),
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX link_tokens_appointment ON link_tokens (appointment_id)
    WHERE appointment_id IS NOT NULL;
CREATE INDEX link_tokens_user ON link_tokens (user_id) WHERE user_id IS NOT NULL;

ALTER TABLE link_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE link_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY link_tokens_read ON link_tokens FOR SELECT USING (app_role() = 'system');
CREATE POLICY link_tokens_use ON link_tokens FOR UPDATE
    USING (app_role() = 'system') WITH CHECK (app_role() = 'system');
-- A booking's messages are written in the caller's transaction (a guest's, a patient's,
-- staff's): anyone may add appointment links for an appointment they can see (the
-- appointments policy decides, inside EXISTS); account links only the service adds.
CREATE POLICY link_tokens_add ON link_tokens FOR INSERT
    WITH CHECK (app_role() = 'system'
                OR (appointment_id IS NOT NULL AND user_id IS NULL
                    AND EXISTS (SELECT FROM appointments a WHERE a.id = appointment_id)));
-- No DELETE: a used link stays used (rows go with their appointment or user).
GRANT SELECT, INSERT, UPDATE (used_at) ON link_tokens TO {app_role};

CREATE TABLE reminder_optouts (
    email       text PRIMARY KEY CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    created_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE reminder_optouts ENABLE ROW LEVEL SECURITY;
ALTER TABLE reminder_optouts FORCE ROW LEVEL SECURITY;
CREATE POLICY reminder_optouts_system ON reminder_optouts FOR ALL
    USING (app_role() = 'system') WITH CHECK (app_role() = 'system');
CREATE POLICY reminder_optouts_definer_read ON reminder_optouts FOR SELECT TO {definer}
    USING (true);
GRANT SELECT, INSERT ON reminder_optouts TO {app_role};
GRANT SELECT ON reminder_optouts TO {definer};

-- Whether an address stopped reminders: a yes/no for one address, under any claims (a
-- booking writes its reminders in the booker's transaction), never the list.
CREATE FUNCTION reminders_opted_out(address text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT EXISTS (SELECT FROM reminder_optouts WHERE email = lower(address))
$$;
ALTER FUNCTION reminders_opted_out(text) OWNER TO {definer};
REVOKE ALL ON FUNCTION reminders_opted_out(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION reminders_opted_out(text) TO {app_role};

ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
GRANT UPDATE (email_verified_at) ON users TO {app_role};
"""

DOWNGRADE = r"""
DROP FUNCTION IF EXISTS reminders_opted_out(text);
ALTER TABLE users DROP COLUMN IF EXISTS email_verified_at;
DROP TABLE IF EXISTS reminder_optouts;
DROP TABLE IF EXISTS link_tokens;
"""


def _app_role() -> str:
    return str(context.config.attributes.get("app_role", "dentalcare_app"))


def upgrade() -> None:
    """Create link_tokens and reminder_optouts; add users.email_verified_at."""
    role = _app_role()
    run_script(UPGRADE.format(app_role=role, definer=f"{role}_definer"))


def downgrade() -> None:
    """Drop them."""
    run_script(DOWNGRADE)
