"""The waitlist and recall.

- `waitlist_entries`: someone (a patient, a guest with an e-mail, or entered by staff)
  waiting for a treatment, optionally with one dentist, between two dates, at some times
  of day. Patients read their own; staff and the service read and change all.
- `freed_slots`: every interval that became free, written in the same transaction as the
  change that freed it (cancellation, reschedule away, a hold deleted or expired) by a
  deferred trigger on `occupancy`: at commit it records the interval only if nothing took
  it back (a hold converted into its booking frees nothing). The service's
  WaitlistOfferer works through the unprocessed rows, so an offer survives a process
  dying between the freeing and the offering. `source` says what freed it; `origin_id`
  ties a slot freed again by a lapsed or declined offer to the slot first freed, so the
  dashboard counts a chain once.
- `waitlist_offers`: one offer of a slot to an entry: the hold that keeps it, until when,
  the SHA-256 of the one-click accept token, and how it ended.
- `recalls`: a patient's next check-up for a treatment with `recall_months`, set by a
  trigger when such an appointment is completed, cleared (booked_appointment_id) by a
  trigger when the same person books the same treatment.
- Waitlist entry changes and offers are realtime events on table `waitlist` (staff).

Revision ID: 0012
Revises: 0010 (after merging the outbox branch; the integrator re-chains)
Create Date: 2026-12-16
"""

from alembic import context

from dentalcare.db.migrate import run_script

revision = "0012"
down_revision = "0011_accounts"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE waitlist_entries (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id         uuid REFERENCES users (id) ON DELETE SET NULL,
    patient_name       text NOT NULL CHECK (length(patient_name) BETWEEN 1 AND 200),
    patient_email      text NOT NULL CHECK (length(patient_email) BETWEEN 3 AND 254),
    patient_phone      text NOT NULL CHECK (length(patient_phone) BETWEEN 3 AND 40),
    treatment_type_id  uuid NOT NULL REFERENCES treatment_types (id),
    dentist_id         uuid REFERENCES dentists (id),
    earliest_date      date NOT NULL,
    latest_date        date NOT NULL CHECK (latest_date >= earliest_date
                                            AND latest_date <= earliest_date + 366),
    times              text[] NOT NULL
                       CHECK (cardinality(times) BETWEEN 1 AND 3
                              AND times <@ ARRAY['morning', 'afternoon', 'evening']),
    status             text NOT NULL DEFAULT 'waiting'
                       CHECK (status IN ('waiting', 'offered', 'booked', 'expired', 'cancelled')),
    booked_appointment_id uuid REFERENCES appointments (id) ON DELETE SET NULL,
    created_by         uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX waitlist_entries_waiting ON waitlist_entries (treatment_type_id, created_at)
    WHERE status = 'waiting';
CREATE INDEX waitlist_entries_patient ON waitlist_entries (patient_id);
CREATE TRIGGER waitlist_entries_touch BEFORE UPDATE ON waitlist_entries
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE freed_slots (
    id            bigserial PRIMARY KEY,
    origin_id     bigint REFERENCES freed_slots (id),
    dentist_id    uuid NOT NULL,
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL CHECK (ends_at > starts_at),
    source        text NOT NULL CHECK (source IN ('appointment', 'hold', 'offer', 'staff')),
    freed_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    processed_at  timestamptz,
    outcome       text CHECK (outcome IN ('offered', 'no_match', 'taken', 'past'))
);
CREATE INDEX freed_slots_pending ON freed_slots (id) WHERE processed_at IS NULL;

CREATE TABLE waitlist_offers (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    entry_id           uuid NOT NULL REFERENCES waitlist_entries (id) ON DELETE CASCADE,
    freed_slot_id      bigint REFERENCES freed_slots (id),
    hold_id            uuid NOT NULL UNIQUE,
    dentist_id         uuid NOT NULL REFERENCES dentists (id),
    treatment_type_id  uuid NOT NULL REFERENCES treatment_types (id),
    appointment_date   date NOT NULL,
    appointment_time   time NOT NULL,
    starts_at          timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL,
    token_hash         bytea NOT NULL UNIQUE,
    offered_by         text NOT NULL CHECK (offered_by IN ('auto', 'staff')),
    status             text NOT NULL DEFAULT 'live'
                       CHECK (status IN ('live', 'accepted', 'declined', 'lapsed')),
    appointment_id     uuid REFERENCES appointments (id) ON DELETE SET NULL,
    created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    resolved_at        timestamptz
);
-- One live offer per entry: two offerers racing for one entry cannot both offer.
CREATE UNIQUE INDEX waitlist_offers_one_live ON waitlist_offers (entry_id) WHERE status = 'live';
CREATE INDEX waitlist_offers_expiry ON waitlist_offers (expires_at) WHERE status = 'live';

-- At commit: was the interval of a deleted occupancy row taken back in the same
-- transaction? If not, it is free: record it for the offerer.
CREATE FUNCTION record_freed_slot() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    origin   bigint;
    source_  text := CASE WHEN OLD.hold_id IS NULL THEN 'appointment' ELSE 'hold' END;
BEGIN
    IF EXISTS (SELECT FROM occupancy o
               WHERE uuid_range(o.dentist_id, o.dentist_id, '[]')
                     && uuid_range(OLD.dentist_id, OLD.dentist_id, '[]')
                 AND o.during && OLD.during) THEN
        RETURN NULL;
    END IF;
    IF OLD.hold_id IS NOT NULL THEN
        SELECT coalesce(f.origin_id, f.id), 'offer' INTO origin, source_
        FROM waitlist_offers w LEFT JOIN freed_slots f ON f.id = w.freed_slot_id
        WHERE w.hold_id = OLD.hold_id;
        source_ := coalesce(source_, 'hold');
    END IF;
    INSERT INTO freed_slots (origin_id, dentist_id, starts_at, ends_at, source)
    VALUES (origin, OLD.dentist_id, lower(OLD.during), upper(OLD.during), source_);
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER occupancy_freed AFTER DELETE ON occupancy
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_freed_slot();

CREATE TABLE recalls (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id             uuid REFERENCES users (id) ON DELETE SET NULL,
    patient_name           text NOT NULL,
    patient_email          text NOT NULL,
    treatment_type_id      uuid NOT NULL REFERENCES treatment_types (id),
    due_date               date NOT NULL,
    last_visit             date NOT NULL,
    last_appointment_id    uuid REFERENCES appointments (id) ON DELETE SET NULL,
    contacted_at           timestamptz,
    booked_appointment_id  uuid REFERENCES appointments (id) ON DELETE SET NULL,
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX recalls_person_treatment ON recalls (lower(patient_email), treatment_type_id);
CREATE INDEX recalls_due ON recalls (due_date) WHERE booked_appointment_id IS NULL;

-- Completing a visit whose treatment recalls sets the next due date; booking the same
-- treatment again (the same e-mail address) clears it.
CREATE FUNCTION appointments_recall() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    months  integer;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status = 'completed' AND OLD.status <> 'completed' THEN
        SELECT recall_months INTO months FROM treatment_types WHERE id = NEW.treatment_type_id;
        IF months IS NOT NULL THEN
            INSERT INTO recalls (patient_id, patient_name, patient_email, treatment_type_id,
                                 due_date, last_visit, last_appointment_id)
            VALUES (NEW.patient_id, NEW.patient_name, NEW.patient_email, NEW.treatment_type_id,
                    (NEW.appointment_date + make_interval(months => months))::date,
                    NEW.appointment_date, NEW.id)
            ON CONFLICT (lower(patient_email), treatment_type_id) DO UPDATE
            SET patient_id = coalesce(EXCLUDED.patient_id, recalls.patient_id),
                patient_name = EXCLUDED.patient_name,
                due_date = EXCLUDED.due_date, last_visit = EXCLUDED.last_visit,
                last_appointment_id = EXCLUDED.last_appointment_id,
                contacted_at = NULL, booked_appointment_id = NULL, updated_at = now();
        END IF;
    ELSIF TG_OP = 'INSERT' AND NEW.status IN ('pending', 'confirmed') THEN
        UPDATE recalls SET booked_appointment_id = NEW.id, updated_at = now()
        WHERE lower(patient_email) = lower(NEW.patient_email)
          AND treatment_type_id = NEW.treatment_type_id
          AND booked_appointment_id IS NULL
          AND last_appointment_id IS DISTINCT FROM NEW.id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER appointments_recall AFTER INSERT OR UPDATE OF status ON appointments
    FOR EACH ROW EXECUTE FUNCTION appointments_recall();

-- Waitlist changes for the staff channel `waitlist`: entries and offers.
CREATE FUNCTION record_waitlist_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    entry_  uuid;
BEGIN
    IF TG_TABLE_NAME = 'waitlist_entries' THEN
        entry_ := NEW.id;
    ELSE
        entry_ := NEW.entry_id;
    END IF;
    PERFORM pg_advisory_xact_lock_shared(7216011);
    INSERT INTO realtime_events (seq, table_name, op, record, dentist_id)
    VALUES (nextval('realtime_events_seq'), 'waitlist', TG_OP,
            jsonb_build_object('kind', CASE TG_TABLE_NAME WHEN 'waitlist_entries'
                                       THEN 'entry' ELSE 'offer' END,
                               'entry_id', entry_,
                               'status', NEW.status,
                               'record', to_jsonb(NEW) - 'token_hash' - 'patient_email'
                                         - 'patient_phone'),
            NULL);
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER waitlist_entries_realtime AFTER INSERT OR UPDATE ON waitlist_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_waitlist_event();
CREATE CONSTRAINT TRIGGER waitlist_offers_realtime AFTER INSERT OR UPDATE ON waitlist_offers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_waitlist_event();

ALTER FUNCTION record_freed_slot() OWNER TO {definer};
ALTER FUNCTION appointments_recall() OWNER TO {definer};
ALTER FUNCTION record_waitlist_event() OWNER TO {definer};
GRANT SELECT, INSERT ON freed_slots TO {definer};
GRANT USAGE ON SEQUENCE freed_slots_id_seq TO {definer};
GRANT SELECT ON waitlist_offers, waitlist_entries TO {definer};
GRANT SELECT, INSERT, UPDATE ON recalls TO {definer};
GRANT SELECT ON appointments TO {definer};
GRANT INSERT ON realtime_events TO {definer};
GRANT USAGE ON SEQUENCE realtime_events_seq TO {definer};

GRANT SELECT, INSERT, UPDATE ON waitlist_entries, waitlist_offers TO {app_role};
GRANT SELECT, UPDATE ON freed_slots TO {app_role};
GRANT INSERT ON freed_slots TO {app_role};
GRANT USAGE ON SEQUENCE freed_slots_id_seq TO {app_role};
GRANT SELECT, UPDATE ON recalls TO {app_role};

CREATE POLICY freed_slots_definer ON freed_slots FOR ALL TO {definer}
    USING (true) WITH CHECK (true);
CREATE POLICY waitlist_offers_definer ON waitlist_offers FOR SELECT TO {definer} USING (true);
CREATE POLICY waitlist_entries_definer ON waitlist_entries FOR SELECT TO {definer} USING (true);
CREATE POLICY recalls_definer ON recalls FOR ALL TO {definer} USING (true) WITH CHECK (true);

ALTER TABLE waitlist_entries ENABLE ROW LEVEL SECURITY;
CREATE POLICY waitlist_entries_read ON waitlist_entries FOR SELECT
    USING (app_role() IN ('admin', 'front_desk', 'system')
           OR (app_role() = 'patient' AND patient_id = app_user_id()));
CREATE POLICY waitlist_entries_insert ON waitlist_entries FOR INSERT
    WITH CHECK (app_role() IN ('admin', 'front_desk', 'system', 'anonymous')
                OR (app_role() = 'patient' AND patient_id = app_user_id()));
CREATE POLICY waitlist_entries_update ON waitlist_entries FOR UPDATE
    USING (app_role() IN ('admin', 'front_desk', 'system')
           OR (app_role() = 'patient' AND patient_id = app_user_id()));
ALTER TABLE waitlist_offers ENABLE ROW LEVEL SECURITY;
CREATE POLICY waitlist_offers_all ON waitlist_offers FOR ALL
    USING (app_role() IN ('admin', 'front_desk', 'system')
           OR EXISTS (SELECT FROM waitlist_entries e WHERE e.id = entry_id))
    WITH CHECK (app_role() IN ('admin', 'front_desk', 'system')
           OR EXISTS (SELECT FROM waitlist_entries e WHERE e.id = entry_id));
ALTER TABLE freed_slots ENABLE ROW LEVEL SECURITY;
CREATE POLICY freed_slots_staff ON freed_slots FOR ALL
    USING (app_role() IN ('admin', 'front_desk', 'system'))
    WITH CHECK (app_role() IN ('admin', 'front_desk', 'system'));
ALTER TABLE recalls ENABLE ROW LEVEL SECURITY;
CREATE POLICY recalls_staff ON recalls FOR ALL
    USING (app_role() IN ('admin', 'front_desk', 'system')
           OR (app_role() = 'patient' AND patient_id = app_user_id()))
    WITH CHECK (app_role() IN ('admin', 'front_desk', 'system'));
"""

DOWNGRADE = r"""
DROP TRIGGER IF EXISTS appointments_recall ON appointments;
DROP TRIGGER IF EXISTS occupancy_freed ON occupancy;
DROP TABLE IF EXISTS recalls, waitlist_offers, freed_slots, waitlist_entries;
DROP FUNCTION IF EXISTS record_freed_slot(), appointments_recall(), record_waitlist_event();
DELETE FROM realtime_events WHERE table_name = 'waitlist';
"""


def _script(template: str) -> str:
    role = str(context.config.attributes.get("app_role", "dentalcare_app"))
    return template.format(app_role=role, definer=f"{role}_definer")


def upgrade() -> None:
    """Waitlist entries and offers, freed slots, recalls."""
    run_script(_script(UPGRADE))


def downgrade() -> None:
    """Drop the waitlist and recall."""
    run_script(_script(DOWNGRADE))
