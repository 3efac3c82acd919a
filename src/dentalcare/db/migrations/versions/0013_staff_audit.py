"""The front desk and the audit log.

- `front_desk` (reception staff) joins `users.role` and `appointments.booking_source`.
  Row-level security treats it like an admin for appointments and patients (every
  appointment; users whose role is `patient`), and like nobody special for dentists,
  schedules, treatment types, chairs and clinic settings (those policies name `admin`).
- `audit_log`: one row per change to appointments, users (patients and staff),
  dentists, schedules (weekly windows, exceptions), clinic settings, closures, treatment
  types and chairs, written by AFTER triggers in the changing transaction, so no path
  (service, job, hand-written SQL) can change a row without its entry. The actor and the
  client address come from the transaction-local claims (`app.role`, `app.user_id`,
  `app.ip`). Staff reads of a patient's medical fields are written by the service
  (`audit.record_read`). Personal and medical values are never copied into the log: a
  change to such a field is noted as `["[redacted]", "[redacted]"]`, so erasing a patient
  leaves no copy behind here.
- The log is append-only: the service role may INSERT and SELECT only (no UPDATE,
  DELETE, TRUNCATE grants), and a trigger raises on any UPDATE, DELETE or TRUNCATE by
  anyone, the owner included. Only admins (and the service itself) may read it (RLS).

Revision ID: 0013_staff_audit
Revises: 0009 (0009_scheduling_model)
Create Date: 2026-12-02
"""

from alembic import context

from dentalcare.db.migrate import run_script

revision = "0013_staff_audit"
down_revision = "0012"
branch_labels = None
depends_on = None

AUDITED = (
    # table, entity (NULL: decided per row, see audit_row_change)
    ("appointments", "appointment"),
    ("users", None),
    ("dentists", "dentist"),
    ("dentist_availability", "schedule"),
    ("availability_exceptions", "schedule_exception"),
    ("clinic_settings", "settings"),
    ("clinic_closures", "closure"),
    ("treatment_types", "treatment_type"),
    ("chairs", "chair"),
)

UPGRADE = r"""
ALTER TABLE users DROP CONSTRAINT IF EXISTS users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('patient', 'dentist', 'admin', 'front_desk'));
ALTER TABLE appointments DROP CONSTRAINT IF EXISTS appointments_booking_source_check;
ALTER TABLE appointments ADD CONSTRAINT appointments_booking_source_check
    CHECK (booking_source IN ('manual', 'chatbot', 'admin', 'front_desk'));

-- Appointments: the front desk sees and manages every one, like an admin.
CREATE OR REPLACE FUNCTION appointment_visible(patient uuid, dentist uuid, email text)
RETURNS boolean LANGUAGE sql STABLE SET search_path = pg_catalog, public AS $$
    SELECT CASE app_role()
        WHEN 'admin' THEN true
        WHEN 'front_desk' THEN true
        WHEN 'system' THEN true
        WHEN 'patient' THEN patient = app_user_id()
        WHEN 'dentist' THEN dentist = app_dentist_id()
        WHEN 'anonymous' THEN patient IS NULL AND lower(email) = app_guest_email()
        ELSE false
    END
$$;
DROP POLICY appointments_insert ON appointments;
CREATE POLICY appointments_insert ON appointments FOR INSERT
    WITH CHECK (CASE app_role()
        WHEN 'admin' THEN true
        WHEN 'front_desk' THEN true
        WHEN 'system' THEN true
        WHEN 'patient' THEN patient_id = app_user_id()
        WHEN 'anonymous' THEN patient_id IS NULL
        ELSE false
    END);

-- Users: the front desk sees, registers and edits patients (not staff, not dentists).
DROP POLICY users_read ON users;
CREATE POLICY users_read ON users FOR SELECT
    USING (app_role() IN ('admin', 'system') OR id = app_user_id()
           OR (app_role() = 'front_desk' AND role = 'patient'));
DROP POLICY users_insert ON users;
CREATE POLICY users_insert ON users FOR INSERT
    WITH CHECK (app_role() IN ('admin', 'system')
                OR (app_role() IN ('anonymous', 'front_desk') AND role = 'patient'));
DROP POLICY users_update ON users;
CREATE POLICY users_update ON users FOR UPDATE
    USING (app_role() IN ('admin', 'system') OR id = app_user_id()
           OR (app_role() = 'front_desk' AND role = 'patient'));

------------------------------------------------------------------------------
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_id    uuid,
    actor_role  text NOT NULL,
    ip          text CHECK (length(ip) <= 100),
    action      text NOT NULL CHECK (action IN ('create', 'update', 'delete', 'read')),
    entity      text NOT NULL CHECK (length(entity) BETWEEN 1 AND 40),
    entity_id   uuid,
    changes     jsonb
);
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, at);

CREATE FUNCTION audit_log_immutable() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'DCA01';
END
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_immutable();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_immutable();

CREATE FUNCTION audit_actor_ip() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, public AS $$
    SELECT nullif(current_setting('app.ip', true), '')
$$;

-- Fields whose values never go into the log (personal, medical, secrets).
CREATE FUNCTION audit_redacted(field text) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, public AS $$
    SELECT field IN ('password_hash', 'patient_name', 'patient_email', 'patient_phone',
                     'patient_age', 'patient_medical_conditions', 'chief_complaint',
                     'symptoms', 'medical_history', 'medications', 'allergies', 'notes',
                     'email', 'full_name', 'phone', 'bio', 'cancellation_reason')
$$;

CREATE FUNCTION audit_row_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
DECLARE
    rec      jsonb;
    old_rec  jsonb;
    diff     jsonb;
    entity_  text := nullif(TG_ARGV[0], '');
    action_  text;
BEGIN
    IF TG_OP <> 'INSERT' THEN old_rec := to_jsonb(OLD); END IF;
    IF TG_OP <> 'DELETE' THEN rec := to_jsonb(NEW); END IF;
    SELECT jsonb_object_agg(k, CASE WHEN audit_redacted(k)
                                    THEN jsonb_build_array(
                                        CASE WHEN old_rec -> k IS NULL OR old_rec -> k = 'null'
                                             THEN NULL ELSE '[redacted]' END,
                                        CASE WHEN rec -> k IS NULL OR rec -> k = 'null'
                                             THEN NULL ELSE '[redacted]' END)
                                    ELSE jsonb_build_array(old_rec -> k, rec -> k) END)
    INTO diff
    FROM (SELECT jsonb_object_keys(coalesce(rec, old_rec)) AS k) keys
    WHERE k NOT IN ('updated_at', 'created_at', 'token_version')
      AND (old_rec -> k) IS DISTINCT FROM (rec -> k)
      AND NOT (TG_OP <> 'UPDATE' AND coalesce(rec, old_rec) -> k = 'null');
    IF TG_OP = 'UPDATE' AND diff IS NULL THEN
        RETURN NULL;  -- nothing changed but the timestamps
    END IF;
    IF entity_ IS NULL THEN  -- users: patients, staff or a dentist's login
        entity_ := CASE coalesce(rec, old_rec) ->> 'role'
                       WHEN 'patient' THEN 'patient'
                       WHEN 'dentist' THEN 'dentist_login'
                       ELSE 'staff' END;
    END IF;
    action_ := CASE TG_OP WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update'
                          ELSE 'delete' END;
    INSERT INTO audit_log (actor_id, actor_role, ip, action, entity, entity_id, changes)
    VALUES (app_user_id(), app_role(), audit_actor_ip(), action_, entity_,
            (coalesce(rec, old_rec) ->> 'id')::uuid, diff);
    RETURN NULL;
END
$$;
{triggers}

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_log_append ON audit_log FOR INSERT WITH CHECK (true);
CREATE POLICY audit_log_read ON audit_log FOR SELECT
    USING (app_role() IN ('admin', 'system'));

REVOKE ALL ON audit_log FROM {app_role};
GRANT SELECT, INSERT ON audit_log TO {app_role};
GRANT USAGE ON SEQUENCE audit_log_id_seq TO {app_role};
"""

DOWNGRADE = r"""
{drop_triggers}
DROP TABLE IF EXISTS audit_log;
DROP FUNCTION IF EXISTS audit_row_change(), audit_redacted(text), audit_actor_ip(),
    audit_log_immutable();
"""


def _triggers() -> str:
    return "\n".join(
        f"CREATE TRIGGER {table}_audit AFTER INSERT OR UPDATE OR DELETE ON {table}\n"
        f"    FOR EACH ROW EXECUTE FUNCTION audit_row_change('{entity or ''}');"
        for table, entity in AUDITED
    )


def _drop_triggers() -> str:
    return "\n".join(f"DROP TRIGGER IF EXISTS {table}_audit ON {table};" for table, _ in AUDITED)


def _app_role() -> str:
    return str(context.config.attributes.get("app_role", "dentalcare_app"))


def upgrade() -> None:
    """The front_desk role and the append-only audit log."""
    run_script(UPGRADE.format(app_role=_app_role(), triggers=_triggers()))


def downgrade() -> None:
    """Drop the audit log (the role's CHECKs stay widened)."""
    run_script(DOWNGRADE.format(drop_triggers=_drop_triggers()))
