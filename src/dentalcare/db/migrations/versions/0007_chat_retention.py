"""Idle guest chat sessions expire: one SECURITY DEFINER function, no DELETE for the app.

The retention job (`chatbot.retention`) deletes guest conversations that nobody has
touched for `chat_retention_days`. The service's role still has no DELETE on
chat_sessions; instead it may call `expire_guest_chat_sessions(idle, batch)`, which can
do exactly one thing: delete up to `batch` guest sessions (`user_id IS NULL`) idle for
longer than `idle`, only under the service's own claims (`app.role = 'system'`) and with
`idle` of at least a day. It belongs to the definer role of migration 0004 (NOLOGIN,
not the tables' owner), which may read and delete guest sessions and nothing else of
chat_sessions; the table keeps FORCE ROW LEVEL SECURITY.

Why a function rather than `GRANT DELETE` to the service and a policy: a grant would let
any statement the service runs under system claims (the listener, the login look-up, a
future job with a bug, an injected query) delete any conversation, including one in
progress, and a policy cannot name the configured retention. The function is the whole
permission, as `auth_principal()` is for reading users.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from alembic import context

from dentalcare.db.migrate import run_script

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


UPGRADE = r"""
GRANT SELECT, DELETE ON chat_sessions TO {definer};
CREATE POLICY chat_sessions_definer_read ON chat_sessions FOR SELECT TO {definer}
    USING (user_id IS NULL);
CREATE POLICY chat_sessions_definer_expire ON chat_sessions FOR DELETE TO {definer}
    USING (user_id IS NULL);

CREATE FUNCTION expire_guest_chat_sessions(idle interval, batch integer)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    expired integer;
BEGIN
    IF app_role() IS DISTINCT FROM 'system' THEN
        RAISE EXCEPTION 'only the service itself expires chat sessions'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF idle IS NULL OR idle < interval '1 day' OR batch IS NULL OR batch < 1 THEN
        RAISE EXCEPTION 'chat sessions idle for less than a day are kept'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- A turn saving this session at the same moment holds its row: the delete waits for
    -- it and then finds the session touched (updated_at moved), so keeps it.
    DELETE FROM chat_sessions
    WHERE id IN (SELECT id FROM chat_sessions
                 WHERE user_id IS NULL AND updated_at < now() - idle
                 ORDER BY updated_at
                 LIMIT batch)
      AND user_id IS NULL AND updated_at < now() - idle;
    GET DIAGNOSTICS expired = ROW_COUNT;
    RETURN expired;
END
$$;
ALTER FUNCTION expire_guest_chat_sessions(interval, integer) OWNER TO {definer};
REVOKE ALL ON FUNCTION expire_guest_chat_sessions(interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION expire_guest_chat_sessions(interval, integer) TO {app_role};
"""

DOWNGRADE = r"""
DROP FUNCTION IF EXISTS expire_guest_chat_sessions(interval, integer);
DROP POLICY IF EXISTS chat_sessions_definer_read ON chat_sessions;
DROP POLICY IF EXISTS chat_sessions_definer_expire ON chat_sessions;
REVOKE SELECT, DELETE ON chat_sessions FROM {definer};
"""


def _script(template: str) -> str:
    role = str(context.config.attributes.get("app_role", "dentalcare_app"))
    return template.format(app_role=role, definer=f"{role}_definer")


def upgrade() -> None:
    """Create expire_guest_chat_sessions() for the retention job, owned by the definer."""
    run_script(_script(UPGRADE))


def downgrade() -> None:
    """Drop expire_guest_chat_sessions() and the definer's access to chat sessions."""
    run_script(_script(DOWNGRADE))
