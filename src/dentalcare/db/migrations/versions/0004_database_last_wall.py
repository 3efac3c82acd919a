"""The database as the last wall: the service logs in as its own role, patient tables
force row-level security even on their owner, and the functions policies call pin their
search_path.

- The service role gets LOGIN: the service no longer connects as the owner and switches
  with SET ROLE (a statement could RESET ROLE back to the owner).
- A NOLOGIN role `<app_role>_definer` owns what must look past a patient's row-level
  security on the service's behalf: the token look-up (`auth_principal`), the event
  trigger and horizon functions, and the `appointment_busy` view (busy times without
  patient data). Policies name it explicitly, so the tables can FORCE row-level
  security: their owner is held to the policies too (migrations act with `system`
  claims, see `migrate.run_script`).
- Every function a policy or trigger calls runs with `search_path = pg_catalog, public`:
  no object placed earlier in a caller's search_path can stand in for ours.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from alembic import context

from dentalcare.db.migrate import run_script

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

PINNED = (
    "app_role()",
    "app_user_id()",
    "app_dentist_id()",
    "app_guest_email()",
    "app_chat_session()",
    "appointment_visible(uuid, uuid, text)",
    "chat_session_visible(uuid, uuid)",
    "appointment_transition_allowed(text, text)",
    "appointments_before_write()",
    "touch_updated_at()",
)
DEFINED = (
    "booking_reference_taken(text)",
    "auth_principal(uuid)",
    "record_realtime_event()",
    "realtime_horizon()",
    "realtime_seq_drawn()",
)
FORCED = ("users", "appointments", "chat_sessions", "realtime_events")

UPGRADE = r"""
ALTER ROLE {app_role} LOGIN;

-- A booking whose reference is drawn twice inserts nothing (ON CONFLICT DO NOTHING):
-- whether the reference was the reason cannot be asked of rows RLS hides, so this says.
CREATE FUNCTION booking_reference_taken(reference text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT EXISTS (SELECT FROM appointments WHERE booking_reference = reference)
$$;
REVOKE ALL ON FUNCTION booking_reference_taken(text) FROM PUBLIC;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{definer}') THEN
        CREATE ROLE {definer} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT {definer} TO %I', current_user);
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO {definer};
GRANT SELECT ON users, dentists, appointments TO {definer};
GRANT SELECT, INSERT ON realtime_events TO {definer};
GRANT USAGE, SELECT ON SEQUENCE realtime_events_seq TO {definer};

CREATE POLICY users_definer_read ON users FOR SELECT TO {definer} USING (true);
CREATE POLICY appointments_definer_read ON appointments FOR SELECT TO {definer} USING (true);
CREATE POLICY realtime_events_definer ON realtime_events FOR ALL TO {definer}
    USING (true) WITH CHECK (true);

{owners}
ALTER VIEW appointment_busy OWNER TO {definer};
GRANT SELECT ON appointment_busy TO {app_role};
GRANT EXECUTE ON FUNCTION auth_principal(uuid), realtime_horizon(), realtime_seq_drawn(),
    booking_reference_taken(text) TO {app_role};

{pins}
{forced}
"""

DOWNGRADE = r"""
{unforced}
{unpins}
ALTER VIEW appointment_busy OWNER TO CURRENT_USER;
{unowners}
DROP POLICY IF EXISTS users_definer_read ON users;
DROP POLICY IF EXISTS appointments_definer_read ON appointments;
DROP POLICY IF EXISTS realtime_events_definer ON realtime_events;
-- Roles belong to the whole server (other databases may use them): this database lets go
-- of the definer, the role itself stays, as the service role does.
REASSIGN OWNED BY {definer} TO CURRENT_USER;
DROP OWNED BY {definer};
DROP FUNCTION IF EXISTS booking_reference_taken(text);
"""


def _app_role() -> str:
    return str(context.config.attributes.get("app_role", "dentalcare_app"))


def _script(template: str) -> str:
    role = _app_role()
    definer = f"{role}_definer"
    return template.format(
        app_role=role,
        definer=definer,
        owners="\n".join(f"ALTER FUNCTION {f} OWNER TO {definer};" for f in DEFINED),
        unowners="\n".join(f"ALTER FUNCTION {f} OWNER TO CURRENT_USER;" for f in DEFINED),
        pins="\n".join(f"ALTER FUNCTION {f} SET search_path = pg_catalog, public;" for f in PINNED),
        unpins="\n".join(f"ALTER FUNCTION {f} RESET search_path;" for f in PINNED),
        forced="\n".join(f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY;" for t in FORCED),
        unforced="\n".join(f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY;" for t in FORCED),
    )


def upgrade() -> None:
    """A login role, a definer role, forced RLS, pinned search paths."""
    run_script(_script(UPGRADE))


def downgrade() -> None:
    """Ownership and policies as before (the roles themselves are the server's and stay)."""
    run_script(_script(DOWNGRADE))
