"""Logging out revokes: revoked sessions, the token check that reads them, and the events
that close a revoked principal's sockets on every process.

- `revoked_tokens`: the session ids (a login token's `jti`, which the socket tokens minted
  from it carry as `sid`) that were logged out, each kept until the session would have
  expired anyway. Private to the service's `system` claims, like the event log; a user
  may insert only their own.
- `auth_token_principal(uid, jti, sid)`: `auth_principal` plus "was this token or its
  session revoked?" — the per-request check stays one round trip.
- Events in `realtime_events` (routed to no channel, carrying only ids): `revoked_tokens`
  INSERT when a session is logged out, `users` UPDATE when a user is disabled or their
  token version bumped (dentist removal does both), `users` DELETE. Every process's
  listener reads them in commit order like any other change, so its hub closes the
  sockets concerned (4001) within a listener round.

As 0004 has it: the two SECURITY DEFINER functions belong to the NOLOGIN definer role,
which a policy of its own lets read revocations; the table forces row-level security;
every function pins its search_path.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from alembic import context

from dentalcare.db.migrate import run_script

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


UPGRADE = r"""
CREATE TABLE revoked_tokens (
    jti         uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- When the revoked session's tokens lapse on their own: the row may go after that.
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revoked_tokens_expires ON revoked_tokens (expires_at);

ALTER TABLE revoked_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE revoked_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY revoked_tokens_read ON revoked_tokens FOR SELECT
    USING (app_role() = 'system');
-- The token check (auth_token_principal, owned by the definer) reads every revocation.
CREATE POLICY revoked_tokens_definer_read ON revoked_tokens FOR SELECT TO {definer}
    USING (true);
CREATE POLICY revoked_tokens_insert ON revoked_tokens FOR INSERT
    WITH CHECK (app_role() = 'system' OR user_id = app_user_id());
-- Only the service itself forgets revocations, and only those past their expiry.
CREATE POLICY revoked_tokens_forget ON revoked_tokens FOR DELETE
    USING (app_role() = 'system' AND expires_at < now());
-- No UPDATE: a revocation is never taken back.
GRANT SELECT, INSERT, DELETE ON revoked_tokens TO {app_role};
GRANT SELECT ON revoked_tokens TO {definer};

-- The token check of every request and socket: the user as they are now, and whether
-- this token or its session was logged out, in one statement.
CREATE FUNCTION auth_token_principal(uid uuid, token_id uuid, session_id uuid)
RETURNS TABLE (id uuid, email text, role text, full_name text, phone text, disabled boolean,
               token_version integer, dentist_id uuid, dentist_active boolean,
               revoked boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT p.id, p.email, p.role, p.full_name, p.phone, p.disabled, p.token_version,
           p.dentist_id, p.dentist_active,
           EXISTS (SELECT FROM revoked_tokens r WHERE r.jti IN (token_id, session_id))
    FROM auth_principal(uid) p
$$;
ALTER FUNCTION auth_token_principal(uuid, uuid, uuid) OWNER TO {definer};
REVOKE ALL ON FUNCTION auth_token_principal(uuid, uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_token_principal(uuid, uuid, uuid) TO {app_role};

-- "Principal revoked" events, written at commit like every other event (the same shared
-- advisory lock and commit-time seq as record_realtime_event, so the listener's horizon
-- covers them). They carry ids and versions only: never a password hash or an e-mail.
CREATE FUNCTION record_principal_revoked() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    rec  jsonb;
BEGIN
    IF TG_TABLE_NAME = 'revoked_tokens' THEN
        rec := jsonb_build_object('user_id', NEW.user_id, 'session_id', NEW.jti);
    ELSIF TG_OP = 'DELETE' THEN
        rec := jsonb_build_object('user_id', OLD.id, 'deleted', true);
    ELSE
        rec := jsonb_build_object('user_id', NEW.id, 'disabled', NEW.disabled,
                                  'token_version', NEW.token_version);
    END IF;
    PERFORM pg_advisory_xact_lock_shared(7216011);
    INSERT INTO realtime_events (seq, table_name, op, record)
    VALUES (nextval('realtime_events_seq'), TG_TABLE_NAME, TG_OP, rec);
    RETURN NULL;
END
$$;
ALTER FUNCTION record_principal_revoked() OWNER TO {definer};
REVOKE ALL ON FUNCTION record_principal_revoked() FROM PUBLIC;

CREATE CONSTRAINT TRIGGER revoked_tokens_realtime
    AFTER INSERT ON revoked_tokens
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_principal_revoked();
CREATE CONSTRAINT TRIGGER users_revoked_realtime
    AFTER UPDATE OF disabled, token_version ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((NEW.disabled AND NOT OLD.disabled) OR NEW.token_version <> OLD.token_version)
    EXECUTE FUNCTION record_principal_revoked();
CREATE CONSTRAINT TRIGGER users_deleted_realtime
    AFTER DELETE ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_principal_revoked();
"""

DOWNGRADE = r"""
DROP TRIGGER IF EXISTS users_revoked_realtime ON users;
DROP TRIGGER IF EXISTS users_deleted_realtime ON users;
DROP TABLE IF EXISTS revoked_tokens;
DROP FUNCTION IF EXISTS record_principal_revoked();
DROP FUNCTION IF EXISTS auth_token_principal(uuid, uuid, uuid);
"""


def _app_role() -> str:
    return str(context.config.attributes.get("app_role", "dentalcare_app"))


def _script(template: str) -> str:
    role = _app_role()
    return template.format(app_role=role, definer=f"{role}_definer")


def upgrade() -> None:
    """Create revoked_tokens, auth_token_principal() and the revocation events."""
    run_script(_script(UPGRADE))


def downgrade() -> None:
    """Drop them."""
    run_script(_script(DOWNGRADE))
