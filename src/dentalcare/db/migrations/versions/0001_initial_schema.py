"""Initial schema: users, dentists, schedules, appointments, the realtime event log, RLS.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from alembic import context

from dentalcare.db.migrate import run_script

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


UPGRADE = r"""
-- The restricted role the service works as. RLS applies to it: it is neither a
-- superuser, nor BYPASSRLS, nor the owner of any table.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{app_role}') THEN
        CREATE ROLE {app_role} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT {app_role} TO %I', current_user);
    END IF;
END
$$;

-- A range over uuid lets the exclusion constraint compare dentists without btree_gist.
CREATE TYPE uuid_range AS RANGE (subtype = uuid);
CREATE TYPE time_range AS RANGE (subtype = time);

-- Claims: transaction-local settings the data layer sets from the authenticated caller.
CREATE FUNCTION app_role() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('app.role', true), ''), 'anonymous')
$$;
CREATE FUNCTION app_user_id() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('app.user_id', true), '')::uuid
$$;
CREATE FUNCTION app_dentist_id() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('app.dentist_id', true), '')::uuid
$$;
CREATE FUNCTION app_guest_email() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('app.guest_email', true), '')
$$;

CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

------------------------------------------------------------------------------
CREATE TABLE users (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email          text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('patient', 'dentist', 'admin')),
    full_name      text NOT NULL CHECK (length(full_name) BETWEEN 1 AND 200),
    phone          text CHECK (length(phone) <= 40),
    disabled       boolean NOT NULL DEFAULT false,
    -- Bumped to revoke every token issued before (tokens carry the version they saw).
    token_version  integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE TRIGGER users_touch BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

------------------------------------------------------------------------------
CREATE TABLE dentists (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id              uuid UNIQUE REFERENCES users (id),
    name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email                text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    specialization       text NOT NULL DEFAULT 'General Dentistry'
                         CHECK (length(specialization) BETWEEN 1 AND 120),
    bio                  text NOT NULL DEFAULT '' CHECK (length(bio) <= 4000),
    years_of_experience  integer NOT NULL DEFAULT 0 CHECK (years_of_experience BETWEEN 0 AND 80),
    timezone             text NOT NULL DEFAULT 'UTC' CHECK (length(timezone) BETWEEN 1 AND 64),
    slot_minutes         integer NOT NULL DEFAULT 30 CHECK (slot_minutes BETWEEN 5 AND 240),
    active               boolean NOT NULL DEFAULT true,
    removed_at           timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (active = (removed_at IS NULL))
);
CREATE INDEX dentists_active_name ON dentists (name) WHERE active;
CREATE TRIGGER dentists_touch BEFORE UPDATE ON dentists
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

------------------------------------------------------------------------------
CREATE TABLE dentist_availability (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    dentist_id    uuid NOT NULL REFERENCES dentists (id) ON DELETE CASCADE,
    day_of_week   smallint NOT NULL CHECK (day_of_week BETWEEN 0 AND 6),
    start_time    time NOT NULL,
    end_time      time NOT NULL,
    is_available  boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (start_time < end_time),
    CONSTRAINT dentist_availability_no_overlap EXCLUDE USING gist (
        uuid_range(dentist_id, dentist_id, '[]') WITH &&,
        int4range(day_of_week, day_of_week, '[]') WITH &&,
        time_range(start_time, end_time, '[)') WITH &&
    )
);
CREATE TRIGGER dentist_availability_touch BEFORE UPDATE ON dentist_availability
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

------------------------------------------------------------------------------
CREATE TABLE availability_exceptions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    dentist_id    uuid NOT NULL REFERENCES dentists (id) ON DELETE CASCADE,
    date          date NOT NULL,
    start_time    time,
    end_time      time,
    is_available  boolean NOT NULL DEFAULT false,
    reason        text CHECK (length(reason) <= 500),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((start_time IS NULL) = (end_time IS NULL)),
    CHECK (start_time IS NULL OR start_time < end_time),
    -- Extra hours need hours; time off without hours is the whole day.
    CHECK (NOT is_available OR start_time IS NOT NULL)
);
CREATE INDEX availability_exceptions_dentist_date ON availability_exceptions (dentist_id, date);

------------------------------------------------------------------------------
CREATE TABLE appointments (
    id                          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    booking_reference           text NOT NULL UNIQUE
                                CHECK (booking_reference ~ '^DC-[0-9A-Z]{{6,10}}$'),
    patient_id                  uuid REFERENCES users (id),
    dentist_id                  uuid NOT NULL REFERENCES dentists (id),
    patient_name                text NOT NULL CHECK (length(patient_name) BETWEEN 1 AND 200),
    patient_email               text NOT NULL CHECK (length(patient_email) BETWEEN 3 AND 254),
    patient_phone               text NOT NULL CHECK (length(patient_phone) BETWEEN 1 AND 40),
    patient_age                 integer CHECK (patient_age BETWEEN 0 AND 130),
    patient_medical_conditions  text CHECK (length(patient_medical_conditions) <= 4000),
    appointment_date            date NOT NULL,
    appointment_time            time NOT NULL,
    duration_minutes            integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 480),
    -- Derived from date, time and the dentist's time zone by the trigger below.
    starts_at                   timestamptz NOT NULL,
    ends_at                     timestamptz NOT NULL,
    status                      text NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'confirmed', 'completed',
                                                  'cancelled', 'no_show')),
    booking_source              text NOT NULL
                                CHECK (booking_source IN ('manual', 'chatbot', 'admin')),
    chief_complaint             text CHECK (length(chief_complaint) <= 2000),
    symptoms                    text CHECK (length(symptoms) <= 4000),
    urgency                     text CHECK (urgency IN ('routine', 'urgent', 'emergency')),
    medical_history             text CHECK (length(medical_history) <= 4000),
    medications                 text CHECK (length(medications) <= 4000),
    allergies                   text CHECK (length(allergies) <= 4000),
    notes                       text CHECK (length(notes) <= 4000),
    payment_method              text CHECK (payment_method IN ('cash', 'card', 'insurance')),
    payment_status              text NOT NULL DEFAULT 'pending'
                                CHECK (payment_status IN ('pending', 'paid', 'refunded')),
    payment_amount              numeric(10, 2) CHECK (payment_amount >= 0),
    cancellation_reason         text CHECK (length(cancellation_reason) <= 1000),
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    confirmed_at                timestamptz,
    cancelled_at                timestamptz,
    completed_at                timestamptz,
    CHECK (ends_at > starts_at),
    -- Double booking is impossible here, whatever the application does.
    CONSTRAINT appointments_no_double_booking EXCLUDE USING gist (
        uuid_range(dentist_id, dentist_id, '[]') WITH &&,
        tstzrange(starts_at, ends_at, '[)') WITH &&
    ) WHERE (status IN ('pending', 'confirmed'))
);
CREATE INDEX appointments_dentist_date ON appointments (dentist_id, appointment_date);
-- The slot engine's busy times: a dentist's active bookings around some dates.
CREATE INDEX appointments_active_by_day ON appointments (dentist_id, appointment_date)
    INCLUDE (starts_at, ends_at) WHERE status IN ('pending', 'confirmed');
CREATE INDEX appointments_patient_starts ON appointments (patient_id, starts_at)
    WHERE patient_id IS NOT NULL;
CREATE INDEX appointments_starts ON appointments (starts_at, id);
CREATE INDEX appointments_email ON appointments (lower(patient_email));

CREATE FUNCTION appointment_transition_allowed(old_status text, new_status text)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT (old_status, new_status) IN (
        ('pending', 'confirmed'), ('pending', 'cancelled'),
        ('confirmed', 'completed'), ('confirmed', 'cancelled'), ('confirmed', 'no_show'))
$$;

CREATE FUNCTION appointments_before_write() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tz text;
BEGIN
    IF TG_OP = 'INSERT'
       OR NEW.appointment_date IS DISTINCT FROM OLD.appointment_date
       OR NEW.appointment_time IS DISTINCT FROM OLD.appointment_time
       OR NEW.duration_minutes IS DISTINCT FROM OLD.duration_minutes
       OR NEW.dentist_id IS DISTINCT FROM OLD.dentist_id THEN
        SELECT timezone INTO tz FROM dentists WHERE id = NEW.dentist_id;
        IF tz IS NULL THEN
            RAISE foreign_key_violation USING MESSAGE = 'no such dentist';
        END IF;
        NEW.starts_at := (NEW.appointment_date + NEW.appointment_time) AT TIME ZONE tz;
        NEW.ends_at := NEW.starts_at + make_interval(mins => NEW.duration_minutes);
    END IF;

    IF TG_OP = 'INSERT' THEN
        NEW.created_at := now();
        NEW.updated_at := now();
        NEW.confirmed_at := CASE WHEN NEW.status IN ('confirmed', 'completed', 'no_show')
                                 THEN now() END;
        NEW.cancelled_at := CASE WHEN NEW.status = 'cancelled' THEN now() END;
        NEW.completed_at := CASE WHEN NEW.status = 'completed' THEN now() END;
        RETURN NEW;
    END IF;

    IF NEW.booking_reference <> OLD.booking_reference
       OR NEW.patient_id IS DISTINCT FROM OLD.patient_id
       OR NEW.booking_source <> OLD.booking_source
       OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'booking_reference, patient_id, booking_source and created_at never change'
            USING ERRCODE = 'DCI01';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        IF NOT appointment_transition_allowed(OLD.status, NEW.status) THEN
            RAISE EXCEPTION 'an appointment cannot go from % to %', OLD.status, NEW.status
                USING ERRCODE = 'DCT01';
        END IF;
        IF NEW.status = 'confirmed' THEN NEW.confirmed_at := now(); END IF;
        IF NEW.status = 'cancelled' THEN NEW.cancelled_at := now(); END IF;
        IF NEW.status = 'completed' THEN NEW.completed_at := now(); END IF;
    ELSE
        NEW.confirmed_at := OLD.confirmed_at;
        NEW.cancelled_at := OLD.cancelled_at;
        NEW.completed_at := OLD.completed_at;
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
CREATE TRIGGER appointments_before_write BEFORE INSERT OR UPDATE ON appointments
    FOR EACH ROW EXECUTE FUNCTION appointments_before_write();

-- The booking hot path in one round trip: set the caller's claims and insert, inside
-- the statement's own transaction (RLS applies: the function runs as the caller).
CREATE FUNCTION insert_appointment_as(claim_role text, claim_user uuid,
                                      claim_guest_email text, new_row jsonb)
RETURNS SETOF appointments LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('app.role', claim_role, true),
            set_config('app.user_id', coalesce(claim_user::text, ''), true),
            set_config('app.dentist_id', '', true),
            set_config('app.guest_email', coalesce(lower(claim_guest_email), ''), true);
    RETURN QUERY
    INSERT INTO appointments (
        booking_reference, patient_id, dentist_id, patient_name, patient_email,
        patient_phone, patient_age, patient_medical_conditions, appointment_date,
        appointment_time, duration_minutes, booking_source, chief_complaint, symptoms,
        urgency, medical_history, medications, allergies, notes, payment_method)
    SELECT r.booking_reference, r.patient_id, r.dentist_id, r.patient_name, r.patient_email,
           r.patient_phone, r.patient_age, r.patient_medical_conditions, r.appointment_date,
           r.appointment_time, r.duration_minutes, r.booking_source, r.chief_complaint,
           r.symptoms, r.urgency, r.medical_history, r.medications, r.allergies, r.notes,
           r.payment_method
    FROM jsonb_populate_record(NULL::appointments, new_row) AS r
    RETURNING *;
END
$$;

-- Busy times for the slot engine: no patient data, readable by anyone (the view runs
-- with its owner's rights, so the appointments' RLS does not hide other patients' slots).
CREATE VIEW appointment_busy AS
    SELECT id, dentist_id, appointment_date, appointment_time, duration_minutes,
           starts_at, ends_at
    FROM appointments
    WHERE status IN ('pending', 'confirmed');

------------------------------------------------------------------------------
-- The durable event log (transactional outbox). Rows are written by the deferred
-- trigger below at COMMIT time, each writer holding a *shared* transaction-level
-- advisory lock from before it draws its first seq until its commit is visible.
-- Writers never wait for each other (group commit keeps working). A reader calls
-- realtime_horizon(), which takes the same lock *exclusively*: it returns once every
-- writer that had drawn a seq has committed or rolled back, and hands back the highest
-- seq drawn so far. Every event at or below that horizon is final, so reading
-- `seq > last AND seq <= horizon ORDER BY seq` never skips a late committer, and a
-- transaction that waited for another (a conflicting booking) always has higher seqs.
-- NOTIFY is not sent here: PostgreSQL serialises every NOTIFYing commit behind one
-- lock held across the WAL flush, which would cap the whole system's write rate. The
-- service wakes listeners after its own commits instead (see realtime/listener.py).
CREATE SEQUENCE realtime_events_seq;
CREATE TABLE realtime_events (
    seq           bigint PRIMARY KEY,
    table_name    text NOT NULL,
    -- 'slots' rows (op TAKEN / RELEASED) say which slots a booking change took or freed;
    -- they carry no patient data and go to the public availability channels.
    op            text NOT NULL CHECK (op IN ('INSERT', 'UPDATE', 'DELETE', 'TAKEN', 'RELEASED')),
    record        jsonb,
    old_record    jsonb,
    dentist_id    uuid,
    patient_id    uuid,
    committed_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    txid          xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX realtime_events_committed ON realtime_events (committed_at);

CREATE FUNCTION record_realtime_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    rec         jsonb;
    old_rec     jsonb;
    dentist     uuid;
    patient     uuid;
    was_active  boolean;
    is_active   boolean;
    moved       boolean;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_rec := to_jsonb(OLD);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        rec := to_jsonb(NEW);
    END IF;
    IF TG_OP = 'UPDATE' AND (rec - 'updated_at') = (old_rec - 'updated_at') THEN
        RETURN NULL;  -- nothing a subscriber could notice
    END IF;

    IF TG_TABLE_NAME = 'dentists' THEN
        dentist := coalesce(rec, old_rec) ->> 'id';
    ELSE
        dentist := coalesce(rec, old_rec) ->> 'dentist_id';
    END IF;
    IF TG_TABLE_NAME = 'appointments' THEN
        patient := coalesce(rec, old_rec) ->> 'patient_id';
        IF rec IS NOT NULL THEN
            rec := rec || jsonb_build_object(
                'dentist_name', (SELECT name FROM dentists WHERE id = dentist));
        END IF;
        IF old_rec IS NOT NULL THEN
            old_rec := old_rec || jsonb_build_object(
                'dentist_name', (SELECT name FROM dentists WHERE id = dentist));
        END IF;
    END IF;

    PERFORM pg_advisory_xact_lock_shared(7216011);
    INSERT INTO realtime_events (seq, table_name, op, record, old_record, dentist_id, patient_id)
    VALUES (nextval('realtime_events_seq'), TG_TABLE_NAME, TG_OP, rec, old_rec, dentist, patient);

    IF TG_TABLE_NAME = 'appointments' THEN
        was_active := old_rec IS NOT NULL AND old_rec ->> 'status' IN ('pending', 'confirmed');
        is_active := rec IS NOT NULL AND rec ->> 'status' IN ('pending', 'confirmed');
        moved := was_active AND is_active AND (
            (old_rec ->> 'starts_at')::timestamptz
                IS DISTINCT FROM (rec ->> 'starts_at')::timestamptz
            OR (old_rec ->> 'ends_at')::timestamptz
                IS DISTINCT FROM (rec ->> 'ends_at')::timestamptz);
        IF was_active AND (NOT is_active OR moved) THEN
            INSERT INTO realtime_events (seq, table_name, op, record, dentist_id)
            VALUES (nextval('realtime_events_seq'), 'slots', 'RELEASED',
                    jsonb_build_object('dentist_id', dentist,
                                       'date', old_rec -> 'appointment_date',
                                       'time', left(old_rec ->> 'appointment_time', 5),
                                       'duration_minutes', old_rec -> 'duration_minutes'),
                    dentist);
        END IF;
        IF is_active AND (NOT was_active OR moved) THEN
            INSERT INTO realtime_events (seq, table_name, op, record, dentist_id)
            VALUES (nextval('realtime_events_seq'), 'slots', 'TAKEN',
                    jsonb_build_object('dentist_id', dentist,
                                       'date', rec -> 'appointment_date',
                                       'time', left(rec ->> 'appointment_time', 5),
                                       'duration_minutes', rec -> 'duration_minutes'),
                    dentist);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- The highest seq below which the log is final (see above). Holds the exclusive lock only
-- for the statement's own implicit transaction: call it outside any other transaction.
CREATE FUNCTION realtime_horizon() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7216011);
    RETURN (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM realtime_events_seq);
END
$$;
REVOKE ALL ON FUNCTION realtime_horizon() FROM PUBLIC;

-- The highest seq drawn so far, without waiting for anyone (no lock): for "has the log
-- ever reached this position?" questions, never for reading up to.
CREATE FUNCTION realtime_seq_drawn() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM realtime_events_seq
$$;
REVOKE ALL ON FUNCTION realtime_seq_drawn() FROM PUBLIC;

CREATE CONSTRAINT TRIGGER appointments_realtime
    AFTER INSERT OR UPDATE OR DELETE ON appointments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_realtime_event();
CREATE CONSTRAINT TRIGGER dentists_realtime
    AFTER INSERT OR UPDATE OR DELETE ON dentists
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_realtime_event();
CREATE CONSTRAINT TRIGGER dentist_availability_realtime
    AFTER INSERT OR UPDATE OR DELETE ON dentist_availability
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_realtime_event();
CREATE CONSTRAINT TRIGGER availability_exceptions_realtime
    AFTER INSERT OR UPDATE OR DELETE ON availability_exceptions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_realtime_event();

------------------------------------------------------------------------------
-- Row-level security. Claims come from app_role() & co.; `system` is the service itself.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_read ON users FOR SELECT
    USING (app_role() IN ('admin', 'system') OR id = app_user_id());
CREATE POLICY users_insert ON users FOR INSERT
    WITH CHECK (app_role() IN ('admin', 'system')
                OR (app_role() = 'anonymous' AND role = 'patient'));
CREATE POLICY users_update ON users FOR UPDATE
    USING (app_role() IN ('admin', 'system') OR id = app_user_id());

ALTER TABLE dentists ENABLE ROW LEVEL SECURITY;
CREATE POLICY dentists_read ON dentists FOR SELECT USING (true);
CREATE POLICY dentists_insert ON dentists FOR INSERT
    WITH CHECK (app_role() IN ('admin', 'system'));
CREATE POLICY dentists_update ON dentists FOR UPDATE
    USING (app_role() IN ('admin', 'system') OR (app_role() = 'dentist' AND id = app_dentist_id()));

ALTER TABLE dentist_availability ENABLE ROW LEVEL SECURITY;
CREATE POLICY dentist_availability_read ON dentist_availability FOR SELECT USING (true);
CREATE POLICY dentist_availability_write ON dentist_availability FOR ALL
    USING (app_role() IN ('admin', 'system')
           OR (app_role() = 'dentist' AND dentist_id = app_dentist_id()))
    WITH CHECK (app_role() IN ('admin', 'system')
                OR (app_role() = 'dentist' AND dentist_id = app_dentist_id()));

ALTER TABLE availability_exceptions ENABLE ROW LEVEL SECURITY;
CREATE POLICY availability_exceptions_read ON availability_exceptions FOR SELECT USING (true);
CREATE POLICY availability_exceptions_write ON availability_exceptions FOR ALL
    USING (app_role() IN ('admin', 'system')
           OR (app_role() = 'dentist' AND dentist_id = app_dentist_id()))
    WITH CHECK (app_role() IN ('admin', 'system')
                OR (app_role() = 'dentist' AND dentist_id = app_dentist_id()));

ALTER TABLE appointments ENABLE ROW LEVEL SECURITY;
CREATE FUNCTION appointment_visible(patient uuid, dentist uuid, email text)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT CASE app_role()
        WHEN 'admin' THEN true
        WHEN 'system' THEN true
        WHEN 'patient' THEN patient = app_user_id()
        WHEN 'dentist' THEN dentist = app_dentist_id()
        WHEN 'anonymous' THEN patient IS NULL AND lower(email) = app_guest_email()
        ELSE false
    END
$$;
CREATE POLICY appointments_read ON appointments FOR SELECT
    USING (appointment_visible(patient_id, dentist_id, patient_email));
CREATE POLICY appointments_insert ON appointments FOR INSERT
    WITH CHECK (CASE app_role()
        WHEN 'admin' THEN true
        WHEN 'system' THEN true
        WHEN 'patient' THEN patient_id = app_user_id()
        WHEN 'anonymous' THEN patient_id IS NULL
        ELSE false
    END);
CREATE POLICY appointments_update ON appointments FOR UPDATE
    USING (appointment_visible(patient_id, dentist_id, patient_email))
    WITH CHECK (appointment_visible(patient_id, dentist_id, patient_email));

ALTER TABLE realtime_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY realtime_events_read ON realtime_events FOR SELECT
    USING (app_role() = 'system');
-- Only the service itself prunes history past the retention period.
CREATE POLICY realtime_events_prune ON realtime_events FOR DELETE
    USING (app_role() = 'system');

------------------------------------------------------------------------------
-- Token check on every request: the token's user as it is now (disabled, revoked tokens,
-- dentist removed), in one statement and without exposing the users table.
CREATE FUNCTION auth_principal(uid uuid)
RETURNS TABLE (id uuid, email text, role text, full_name text, phone text, disabled boolean,
               token_version integer, dentist_id uuid, dentist_active boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.id, u.email, u.role, u.full_name, u.phone, u.disabled, u.token_version,
           d.id, d.active
    FROM users u LEFT JOIN dentists d ON d.user_id = u.id
    WHERE u.id = uid
$$;
REVOKE ALL ON FUNCTION auth_principal(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_principal(uuid) TO {app_role};
GRANT EXECUTE ON FUNCTION realtime_horizon() TO {app_role};
GRANT EXECUTE ON FUNCTION realtime_seq_drawn() TO {app_role};
GRANT EXECUTE ON FUNCTION insert_appointment_as(text, uuid, text, jsonb) TO {app_role};

------------------------------------------------------------------------------
GRANT USAGE ON SCHEMA public TO {app_role};
GRANT SELECT, INSERT ON users TO {app_role};
-- No UPDATE of `role`: nobody raises their own (or anyone's) role through the service.
GRANT UPDATE (email, password_hash, full_name, phone, disabled, token_version, updated_at)
    ON users TO {app_role};
GRANT SELECT, INSERT, UPDATE ON dentists TO {app_role};
GRANT SELECT, INSERT, UPDATE, DELETE ON dentist_availability TO {app_role};
GRANT SELECT, INSERT, UPDATE, DELETE ON availability_exceptions TO {app_role};
-- No DELETE: a cancelled appointment is a status, the row is kept.
GRANT SELECT, INSERT, UPDATE ON appointments TO {app_role};
GRANT SELECT ON appointment_busy TO {app_role};
GRANT SELECT, DELETE ON realtime_events TO {app_role};
GRANT SELECT ON alembic_version TO {app_role};
"""

DOWNGRADE = r"""
DROP TABLE IF EXISTS realtime_events, appointments, availability_exceptions,
    dentist_availability, dentists, users CASCADE;
DROP VIEW IF EXISTS appointment_busy;
DROP SEQUENCE IF EXISTS realtime_events_seq;
DROP FUNCTION IF EXISTS auth_principal, realtime_horizon, realtime_seq_drawn,
    record_realtime_event,
    insert_appointment_as,
    appointments_before_write,
    appointment_transition_allowed, appointment_visible, touch_updated_at,
    app_role, app_user_id, app_dentist_id, app_guest_email;
DROP TYPE IF EXISTS uuid_range, time_range;
REVOKE ALL ON alembic_version FROM {app_role};
REVOKE USAGE ON SCHEMA public FROM {app_role};
"""


def _app_role() -> str:
    return str(context.config.attributes.get("app_role", "dentalcare_app"))


def upgrade() -> None:
    run_script(UPGRADE.format(app_role=_app_role()))


def downgrade() -> None:
    run_script(DOWNGRADE.format(app_role=_app_role()))
