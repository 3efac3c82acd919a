"""The dental scheduling model: treatment types, chairs, clinic settings and closures,
date-range time off, holds, and one occupancy table the database keeps free of overlaps.

- `treatment_types` say what is being done: its length, the chair time either side
  (buffers), recall interval, who performs it (`treatment_dentists`; none = everyone),
  whether patients may book it online. The migration adds one type, "Standard
  appointment", whose `duration_minutes` is NULL: it takes the dentist's own slot length,
  so every existing appointment, client and schedule keeps today's behaviour. It is the
  clinic's default type until an admin picks another.
- `clinic_settings` is one row (name, zone, phone, e-mail, address, default type,
  cancellation notice, hold minutes, reminder hours); NULL name/zone/address fall back to
  the service's settings (`CLINIC_NAME` & co.), so deployments configured by environment
  keep working. `clinic_closures`: whole days nobody is bookable.
- `occupancy` holds one row per active appointment and per hold: the dentist, the chair
  (NULL when the clinic has no chairs) and the occupied instants, buffers included. Two
  exclusion constraints make an overlap on a dentist or on a chair impossible, whatever
  the application does and however many processes book at once. Rows are written only
  by triggers on `appointments` and `holds` through `occupy()` (owned by the definer
  role; the service role may only read the table):
  * an appointment that becomes active takes its interval and a chair (the one it names,
    else the dentist's default chair, else the first free active chair by name);
  * an INSERT or UPDATE that finds its interval taken raises `exclusion_violation`, as
    the old constraint did; but an INSERT in a transaction that set `app.when_taken` to
    `skip` inserts nothing instead (the BEFORE trigger returns NULL), as `ON CONFLICT DO
    NOTHING` did: the booking path sets it in its own INSERT statement and needs no
    savepoint; a hold's INSERT always inserts nothing when the interval is taken (only
    the service makes holds);
  * cancelling, completing or marking a no-show frees it; deleting a hold frees its row.
- `slots` realtime events now come from occupancy rows (TAKEN for an appointment's,
  HELD for a hold's, RELEASED when a row goes) and carry the occupied interval and the
  chair; the appointment event trigger no longer writes them.
- `appointments` gains the type, chair, buffers, hold it was converted from, attendance
  confirmation and arrival; existing appointments get the standard type and no chair.
  The old dentist exclusion constraint goes: occupancy's is the same plus buffers.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-15
"""

from alembic import context

from dentalcare.db.migrate import run_script

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

STANDARD_TREATMENT = "00000000-0000-4000-8000-000000000001"

UPGRADE = r"""
CREATE TABLE treatment_types (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                   text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    description            text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    -- NULL: the performing dentist's own slot length (the migrated standard type).
    duration_minutes       integer CHECK (duration_minutes BETWEEN 5 AND 480),
    buffer_before_minutes  integer NOT NULL DEFAULT 0
                           CHECK (buffer_before_minutes BETWEEN 0 AND 120),
    buffer_after_minutes   integer NOT NULL DEFAULT 0
                           CHECK (buffer_after_minutes BETWEEN 0 AND 120),
    recall_months          integer CHECK (recall_months BETWEEN 1 AND 60),
    bookable_online        boolean NOT NULL DEFAULT true,
    active                 boolean NOT NULL DEFAULT true,
    price                  numeric(10, 2) CHECK (price >= 0),
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX treatment_types_name ON treatment_types (lower(name)) WHERE active;

CREATE TABLE treatment_dentists (
    treatment_type_id  uuid NOT NULL REFERENCES treatment_types (id) ON DELETE CASCADE,
    dentist_id         uuid NOT NULL REFERENCES dentists (id) ON DELETE CASCADE,
    PRIMARY KEY (treatment_type_id, dentist_id)
);
CREATE INDEX treatment_dentists_dentist ON treatment_dentists (dentist_id);

INSERT INTO treatment_types (id, name, description, duration_minutes)
VALUES ('{standard}', 'Standard appointment',
        'A visit of the dentist''s usual slot length.', NULL);

CREATE TABLE chairs (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX chairs_name ON chairs (lower(name)) WHERE active;
ALTER TABLE dentists ADD COLUMN default_chair_id uuid REFERENCES chairs (id);

CREATE TABLE clinic_settings (
    singleton                  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    name                       text CHECK (length(name) BETWEEN 1 AND 200),
    timezone                   text CHECK (length(timezone) BETWEEN 1 AND 64),
    phone                      text NOT NULL DEFAULT '' CHECK (length(phone) <= 40),
    email                      text NOT NULL DEFAULT '' CHECK (length(email) <= 254),
    address                    text CHECK (length(address) <= 500),
    default_treatment_type_id  uuid NOT NULL REFERENCES treatment_types (id),
    cancellation_notice_hours  integer NOT NULL DEFAULT 24
                               CHECK (cancellation_notice_hours BETWEEN 0 AND 720),
    hold_minutes               integer NOT NULL DEFAULT 5 CHECK (hold_minutes BETWEEN 1 AND 60),
    reminder_hours             integer[] NOT NULL DEFAULT ARRAY[24, 2]
                               CHECK (cardinality(reminder_hours) <= 6
                                      AND 0 < ALL (reminder_hours)
                                      AND 24 * 30 >= ALL (reminder_hours)),
    updated_at                 timestamptz NOT NULL DEFAULT now()
);
INSERT INTO clinic_settings (default_treatment_type_id) VALUES ('{standard}');

CREATE TABLE clinic_closures (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    date        date NOT NULL UNIQUE,
    reason      text NOT NULL DEFAULT '' CHECK (length(reason) <= 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Time off for a range of dates: one entry from `date` to `until` (inclusive).
ALTER TABLE availability_exceptions ADD COLUMN until date;
ALTER TABLE availability_exceptions ADD CONSTRAINT availability_exceptions_until
    CHECK (until IS NULL OR (until >= date AND until <= date + 366));
CREATE INDEX availability_exceptions_dentist_until
    ON availability_exceptions (dentist_id, until) WHERE until IS NOT NULL;

CREATE TABLE holds (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    dentist_id             uuid NOT NULL REFERENCES dentists (id),
    treatment_type_id      uuid NOT NULL REFERENCES treatment_types (id),
    chair_id               uuid REFERENCES chairs (id),
    appointment_date       date NOT NULL,
    appointment_time       time NOT NULL,
    duration_minutes       integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 480),
    buffer_before_minutes  integer NOT NULL DEFAULT 0,
    buffer_after_minutes   integer NOT NULL DEFAULT 0,
    starts_at              timestamptz NOT NULL,
    ends_at                timestamptz NOT NULL,
    expires_at             timestamptz NOT NULL,
    -- The creator: a user, or for a guest the SHA-256 of the hold token handed back.
    user_id                uuid REFERENCES users (id) ON DELETE CASCADE,
    token_hash             bytea,
    created_at             timestamptz NOT NULL DEFAULT now(),
    CHECK ((user_id IS NULL) <> (token_hash IS NULL)),
    CHECK (ends_at > starts_at)
);
CREATE INDEX holds_expires ON holds (expires_at);
CREATE UNIQUE INDEX holds_one_per_user ON holds (user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX holds_token ON holds (token_hash) WHERE token_hash IS NOT NULL;

-- Existing rows get the standard type through the column's default (an UPDATE would
-- queue event triggers, and ALTER TABLE refuses a table with pending trigger events);
-- new rows without one get the clinic's default from the trigger below.
ALTER TABLE appointments
    ADD COLUMN treatment_type_id       uuid NOT NULL DEFAULT '{standard}'
                                       REFERENCES treatment_types (id),
    ADD COLUMN chair_id                uuid REFERENCES chairs (id),
    ADD COLUMN buffer_before_minutes   integer NOT NULL DEFAULT 0
                                       CHECK (buffer_before_minutes BETWEEN 0 AND 120),
    ADD COLUMN buffer_after_minutes    integer NOT NULL DEFAULT 0
                                       CHECK (buffer_after_minutes BETWEEN 0 AND 120),
    ADD COLUMN hold_id                 uuid,
    ADD COLUMN attendance_confirmed_at timestamptz,
    ADD COLUMN arrived_at              timestamptz;
ALTER TABLE appointments ALTER COLUMN treatment_type_id DROP DEFAULT;
ALTER TABLE appointments DROP CONSTRAINT appointments_no_double_booking;

CREATE TABLE occupancy (
    appointment_id  uuid UNIQUE REFERENCES appointments (id) ON DELETE CASCADE
                    DEFERRABLE INITIALLY DEFERRED,
    hold_id         uuid UNIQUE REFERENCES holds (id) ON DELETE CASCADE
                    DEFERRABLE INITIALLY DEFERRED,
    dentist_id      uuid NOT NULL,
    chair_id        uuid,
    during          tstzrange NOT NULL CHECK (NOT isempty(during)),
    CHECK ((appointment_id IS NULL) <> (hold_id IS NULL)),
    CONSTRAINT occupancy_dentist EXCLUDE USING gist (
        uuid_range(dentist_id, dentist_id, '[]') WITH &&, during WITH &&),
    CONSTRAINT occupancy_chair EXCLUDE USING gist (
        uuid_range(chair_id, chair_id, '[]') WITH &&, during WITH &&)
        WHERE (chair_id IS NOT NULL)
);

-- Take `span` on `dentist` and a chair for an appointment or a hold: `ok` false when the
-- dentist is busy then or no chair is free. Chairs are tried in order (the one asked
-- for, the dentist's default, then by name), skipping those visibly taken; a chair lost
-- to a concurrent transaction (its insert waits for that one, then fails) is skipped too.
CREATE FUNCTION occupy(p_appointment uuid, p_hold uuid, p_dentist uuid, p_chair uuid,
                       span tstzrange, OUT ok boolean, OUT chair uuid)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    candidate  uuid;
    violated   text;
BEGIN
    ok := false;
    IF NOT EXISTS (SELECT FROM chairs WHERE active) THEN
        BEGIN
            INSERT INTO occupancy (appointment_id, hold_id, dentist_id, chair_id, during)
            VALUES (p_appointment, p_hold, p_dentist, NULL, span);
            ok := true;
        EXCEPTION WHEN exclusion_violation THEN
            ok := false;
        END;
        RETURN;
    END IF;
    -- The look-ups are written as the exclusion constraints' own index expressions
    -- (uuid_range(...) && ...), so each is a GiST index scan, not a scan of the table.
    IF EXISTS (SELECT FROM occupancy o
               WHERE uuid_range(o.dentist_id, o.dentist_id, '[]')
                     && uuid_range(p_dentist, p_dentist, '[]')
                 AND o.during && span) THEN
        RETURN;
    END IF;
    FOR candidate IN
        SELECT c.id FROM chairs c
        WHERE c.active
          AND NOT EXISTS (SELECT FROM occupancy o
                          WHERE o.chair_id IS NOT NULL
                            AND uuid_range(o.chair_id, o.chair_id, '[]')
                                && uuid_range(c.id, c.id, '[]')
                            AND o.during && span)
        ORDER BY c.id IS DISTINCT FROM p_chair,
                 c.id IS DISTINCT FROM (SELECT default_chair_id FROM dentists WHERE id = p_dentist),
                 c.name, c.id
    LOOP
        BEGIN
            INSERT INTO occupancy (appointment_id, hold_id, dentist_id, chair_id, during)
            VALUES (p_appointment, p_hold, p_dentist, candidate, span);
            ok := true;
            chair := candidate;
            RETURN;
        EXCEPTION WHEN exclusion_violation THEN
            GET STACKED DIAGNOSTICS violated = CONSTRAINT_NAME;
            IF violated = 'occupancy_dentist' THEN
                RETURN;
            END IF;
        END;
    END LOOP;
END
$$;

CREATE FUNCTION occupied_span(starts timestamptz, ends timestamptz, before integer,
                              after integer)
RETURNS tstzrange LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, public AS $$
    SELECT tstzrange(starts - make_interval(mins => before),
                     ends + make_interval(mins => after), '[)')
$$;

-- After appointments_before_write (trigger names fire in order): starts_at is set.
CREATE FUNCTION appointments_occupy() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
DECLARE
    was_active  boolean := TG_OP = 'UPDATE' AND OLD.status IN ('pending', 'confirmed');
    is_active   boolean := NEW.status IN ('pending', 'confirmed');
    taken       record;
BEGIN
    IF TG_OP = 'INSERT' AND NEW.treatment_type_id IS NULL THEN
        NEW.treatment_type_id := (SELECT default_treatment_type_id FROM clinic_settings);
    END IF;
    IF was_active AND is_active
       AND NEW.starts_at = OLD.starts_at AND NEW.ends_at = OLD.ends_at
       AND NEW.dentist_id = OLD.dentist_id
       AND NEW.chair_id IS NOT DISTINCT FROM OLD.chair_id
       AND NEW.buffer_before_minutes = OLD.buffer_before_minutes
       AND NEW.buffer_after_minutes = OLD.buffer_after_minutes THEN
        RETURN NEW;
    END IF;
    IF was_active THEN
        PERFORM release_occupancy(OLD.id);
    END IF;
    IF NOT is_active THEN
        RETURN NEW;
    END IF;
    SELECT * INTO taken FROM occupy(NEW.id, NULL, NEW.dentist_id, NEW.chair_id,
        occupied_span(NEW.starts_at, NEW.ends_at,
                      NEW.buffer_before_minutes, NEW.buffer_after_minutes));
    IF NOT taken.ok THEN
        IF TG_OP = 'INSERT' AND current_setting('app.when_taken', true) = 'skip' THEN
            RETURN NULL;  -- nothing inserted, like ON CONFLICT DO NOTHING
        END IF;
        RAISE exclusion_violation USING
            MESSAGE = 'the dentist or every chair is taken at that time',
            CONSTRAINT = 'occupancy_dentist';
    END IF;
    NEW.chair_id := taken.chair;
    RETURN NEW;
END
$$;
CREATE TRIGGER appointments_occupy BEFORE INSERT OR UPDATE ON appointments
    FOR EACH ROW EXECUTE FUNCTION appointments_occupy();

CREATE FUNCTION release_occupancy(p_appointment uuid) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    DELETE FROM occupancy WHERE appointment_id = p_appointment
$$;

CREATE FUNCTION holds_occupy() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
DECLARE
    taken  record;
BEGIN
    SELECT * INTO taken FROM occupy(NULL, NEW.id, NEW.dentist_id, NEW.chair_id,
        occupied_span(NEW.starts_at, NEW.ends_at,
                      NEW.buffer_before_minutes, NEW.buffer_after_minutes));
    IF NOT taken.ok THEN
        RETURN NULL;
    END IF;
    NEW.chair_id := taken.chair;
    RETURN NEW;
END
$$;
CREATE TRIGGER holds_occupy BEFORE INSERT ON holds
    FOR EACH ROW EXECUTE FUNCTION holds_occupy();

-- Existing active appointments take their (buffer-free) intervals; none overlap, the old
-- constraint saw to that. No chairs exist yet, so none gets one.
INSERT INTO occupancy (appointment_id, dentist_id, chair_id, during)
SELECT id, dentist_id, NULL, tstzrange(starts_at, ends_at, '[)')
FROM appointments WHERE status IN ('pending', 'confirmed');
-- Check those rows' deferred foreign keys now: ALTER TABLE below refuses a table with
-- pending trigger events.
SET CONSTRAINTS ALL IMMEDIATE;

-- The public `slots` events, from occupancy rows: no treatment, no patient.
CREATE FUNCTION record_occupancy_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    row_    occupancy;
    tz      text;
    local_  timestamp;
    op_     text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        row_ := NEW;
        op_ := CASE WHEN NEW.hold_id IS NULL THEN 'TAKEN' ELSE 'HELD' END;
    ELSE
        row_ := OLD;
        op_ := 'RELEASED';
    END IF;
    SELECT timezone INTO tz FROM dentists WHERE id = row_.dentist_id;
    local_ := lower(row_.during) AT TIME ZONE coalesce(tz, 'UTC');
    PERFORM pg_advisory_xact_lock_shared(7216011);
    INSERT INTO realtime_events (seq, table_name, op, record, dentist_id)
    VALUES (nextval('realtime_events_seq'), 'slots', op_,
            jsonb_build_object(
                'dentist_id', row_.dentist_id,
                'date', to_char(local_, 'YYYY-MM-DD'),
                'time', to_char(local_, 'HH24:MI'),
                'duration_minutes',
                    (extract(epoch FROM upper(row_.during) - lower(row_.during)) / 60)::integer,
                'chair_id', row_.chair_id),
            row_.dentist_id);
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER occupancy_realtime AFTER INSERT OR DELETE ON occupancy
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_occupancy_event();

ALTER TABLE realtime_events DROP CONSTRAINT IF EXISTS realtime_events_op_check;
ALTER TABLE realtime_events ADD CONSTRAINT realtime_events_op_check
    CHECK (op IN ('INSERT', 'UPDATE', 'DELETE', 'TAKEN', 'HELD', 'RELEASED'));

-- Appointment events no longer write `slots` rows (occupancy does, above).
CREATE OR REPLACE FUNCTION record_realtime_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    rec         jsonb;
    old_rec     jsonb;
    dentist     uuid;
    patient     uuid;
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
                'dentist_name', (SELECT name FROM dentists WHERE id = dentist),
                'treatment_name', (SELECT name FROM treatment_types
                                   WHERE id = (rec ->> 'treatment_type_id')::uuid),
                'chair_name', (SELECT name FROM chairs WHERE id = (rec ->> 'chair_id')::uuid));
        END IF;
        IF old_rec IS NOT NULL THEN
            old_rec := old_rec || jsonb_build_object(
                'dentist_name', (SELECT name FROM dentists WHERE id = dentist),
                'treatment_name', (SELECT name FROM treatment_types
                                   WHERE id = (old_rec ->> 'treatment_type_id')::uuid),
                'chair_name', (SELECT name FROM chairs
                               WHERE id = (old_rec ->> 'chair_id')::uuid));
        END IF;
    END IF;

    PERFORM pg_advisory_xact_lock_shared(7216011);
    INSERT INTO realtime_events (seq, table_name, op, record, old_record, dentist_id, patient_id)
    VALUES (nextval('realtime_events_seq'), TG_TABLE_NAME, TG_OP, rec, old_rec, dentist, patient);
    RETURN NULL;
END
$$;

-- Clinic closures reach every availability channel (dentist_id NULL: everyone's).
CREATE CONSTRAINT TRIGGER clinic_closures_realtime
    AFTER INSERT OR UPDATE OR DELETE ON clinic_closures
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_realtime_event();

-- Expired holds go, and their occupancy with them (RELEASED events at commit).
CREATE FUNCTION release_expired_holds(at_ timestamptz, batch integer)
RETURNS TABLE (id uuid, dentist_id uuid)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    DELETE FROM holds h
    WHERE h.id IN (SELECT x.id FROM holds x WHERE x.expires_at <= at_
                   ORDER BY x.expires_at LIMIT batch FOR UPDATE SKIP LOCKED)
    RETURNING h.id, h.dentist_id
$$;

ALTER TABLE occupancy OWNER TO {definer};
ALTER FUNCTION occupy(uuid, uuid, uuid, uuid, tstzrange) OWNER TO {definer};
ALTER FUNCTION release_occupancy(uuid) OWNER TO {definer};
ALTER FUNCTION record_occupancy_event() OWNER TO {definer};
ALTER FUNCTION release_expired_holds(timestamptz, integer) OWNER TO {definer};
GRANT SELECT ON chairs, dentists, treatment_types TO {definer};
GRANT SELECT, UPDATE, DELETE ON holds TO {definer};
REVOKE ALL ON FUNCTION occupy(uuid, uuid, uuid, uuid, tstzrange), release_occupancy(uuid),
    release_expired_holds(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION occupy(uuid, uuid, uuid, uuid, tstzrange), release_occupancy(uuid),
    release_expired_holds(timestamptz, integer) TO {app_role};

GRANT SELECT ON occupancy TO {app_role};
GRANT SELECT, INSERT, UPDATE ON treatment_types, chairs, clinic_closures TO {app_role};
GRANT DELETE ON clinic_closures TO {app_role};
GRANT SELECT, INSERT, DELETE ON treatment_dentists TO {app_role};
GRANT SELECT, UPDATE ON clinic_settings TO {app_role};
GRANT SELECT, INSERT, UPDATE, DELETE ON holds TO {app_role};

ALTER TABLE treatment_types ENABLE ROW LEVEL SECURITY;
CREATE POLICY treatment_types_read ON treatment_types FOR SELECT USING (true);
CREATE POLICY treatment_types_write ON treatment_types FOR ALL
    USING (app_role() IN ('admin', 'system')) WITH CHECK (app_role() IN ('admin', 'system'));
ALTER TABLE treatment_dentists ENABLE ROW LEVEL SECURITY;
CREATE POLICY treatment_dentists_read ON treatment_dentists FOR SELECT USING (true);
CREATE POLICY treatment_dentists_write ON treatment_dentists FOR ALL
    USING (app_role() IN ('admin', 'system')) WITH CHECK (app_role() IN ('admin', 'system'));
ALTER TABLE chairs ENABLE ROW LEVEL SECURITY;
CREATE POLICY chairs_read ON chairs FOR SELECT USING (true);
CREATE POLICY chairs_write ON chairs FOR ALL
    USING (app_role() IN ('admin', 'system')) WITH CHECK (app_role() IN ('admin', 'system'));
ALTER TABLE clinic_settings ENABLE ROW LEVEL SECURITY;
CREATE POLICY clinic_settings_read ON clinic_settings FOR SELECT USING (true);
CREATE POLICY clinic_settings_write ON clinic_settings FOR UPDATE
    USING (app_role() IN ('admin', 'system')) WITH CHECK (app_role() IN ('admin', 'system'));
ALTER TABLE clinic_closures ENABLE ROW LEVEL SECURITY;
CREATE POLICY clinic_closures_read ON clinic_closures FOR SELECT USING (true);
CREATE POLICY clinic_closures_write ON clinic_closures FOR ALL
    USING (app_role() IN ('admin', 'system')) WITH CHECK (app_role() IN ('admin', 'system'));
"""

DOWNGRADE = r"""
DROP TRIGGER IF EXISTS appointments_occupy ON appointments;
DROP TRIGGER IF EXISTS clinic_closures_realtime ON clinic_closures;
DROP TABLE IF EXISTS occupancy, holds;
DROP FUNCTION IF EXISTS appointments_occupy(), holds_occupy(), record_occupancy_event(),
    occupy(uuid, uuid, uuid, uuid, tstzrange), release_occupancy(uuid),
    release_expired_holds(timestamptz, integer), occupied_span(timestamptz, timestamptz,
    integer, integer);
DROP TABLE IF EXISTS clinic_closures, clinic_settings, treatment_dentists;
ALTER TABLE appointments
    DROP COLUMN IF EXISTS treatment_type_id, DROP COLUMN IF EXISTS chair_id,
    DROP COLUMN IF EXISTS buffer_before_minutes, DROP COLUMN IF EXISTS buffer_after_minutes,
    DROP COLUMN IF EXISTS hold_id, DROP COLUMN IF EXISTS attendance_confirmed_at,
    DROP COLUMN IF EXISTS arrived_at;
ALTER TABLE appointments ADD CONSTRAINT appointments_no_double_booking EXCLUDE USING gist (
    uuid_range(dentist_id, dentist_id, '[]') WITH &&,
    tstzrange(starts_at, ends_at, '[)') WITH &&
) WHERE (status IN ('pending', 'confirmed'));
ALTER TABLE dentists DROP COLUMN IF EXISTS default_chair_id;
DROP TABLE IF EXISTS chairs, treatment_types;
DROP INDEX IF EXISTS availability_exceptions_dentist_until;
ALTER TABLE availability_exceptions DROP CONSTRAINT IF EXISTS availability_exceptions_until;
ALTER TABLE availability_exceptions DROP COLUMN IF EXISTS until;
DELETE FROM realtime_events WHERE op = 'HELD';
ALTER TABLE realtime_events DROP CONSTRAINT IF EXISTS realtime_events_op_check;
ALTER TABLE realtime_events ADD CONSTRAINT realtime_events_op_check
    CHECK (op IN ('INSERT', 'UPDATE', 'DELETE', 'TAKEN', 'RELEASED'));
"""


def _script(template: str) -> str:
    role = str(context.config.attributes.get("app_role", "dentalcare_app"))
    return template.format(app_role=role, definer=f"{role}_definer", standard=STANDARD_TREATMENT)


def upgrade() -> None:
    """Treatment types, chairs, clinic settings and closures, holds and occupancy."""
    run_script(_script(UPGRADE))


def downgrade() -> None:
    """Back to one slot length per dentist (the downgrade keeps slot events off: the
    0001 event function is not restored, run 0001's downgrade for a clean slate)."""
    run_script(_script(DOWNGRADE))
