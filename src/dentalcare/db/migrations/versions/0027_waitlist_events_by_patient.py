"""Waitlist events name the entry's patient, so a patient can follow their own (issue 14).

Migration 0012 logged waitlist entry and offer changes with no `patient_id`: only the
staff's `waitlist` channel could carry them. A logged-in patient now subscribes to
`waitlist` too and reads the events of their own entries only, narrowed by
`realtime_events.patient_id` as `appointments` is (live by the patient topic, replay by
the `realtime_events_patient` index of migration 0008). An entry's event takes the
entry's `patient_id`; an offer's, that of the entry it is made to. A guest's entry
(no patient) stays the staff's.

The logged record also loses `created_by` (who put the entry on the list, often a
member of staff): a patient's copy must carry nobody else's data, and the frame on one
channel is the same for everyone.

Events logged before this migration get their `patient_id` filled the same way.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04
"""

from alembic import context

from dentalcare.db.migrate import run_script

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE OR REPLACE FUNCTION record_waitlist_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    entry_    uuid;
    patient_  uuid;
BEGIN
    IF TG_TABLE_NAME = 'waitlist_entries' THEN
        entry_ := NEW.id;
        patient_ := NEW.patient_id;
    ELSE
        entry_ := NEW.entry_id;
        SELECT e.patient_id INTO patient_ FROM waitlist_entries e WHERE e.id = NEW.entry_id;
    END IF;
    PERFORM pg_advisory_xact_lock_shared(7216011);
    INSERT INTO realtime_events (seq, table_name, op, record, dentist_id, patient_id)
    VALUES (nextval('realtime_events_seq'), 'waitlist', TG_OP,
            jsonb_build_object('kind', CASE TG_TABLE_NAME WHEN 'waitlist_entries'
                                       THEN 'entry' ELSE 'offer' END,
                               'entry_id', entry_,
                               'status', NEW.status,
                               'record', to_jsonb(NEW) - 'token_hash' - 'patient_email'
                                         - 'patient_phone' - 'created_by'),
            NULL, patient_);
    RETURN NULL;
END
$$;
ALTER FUNCTION record_waitlist_event() OWNER TO {definer};

UPDATE realtime_events r
SET patient_id = e.patient_id,
    record = jsonb_set(r.record, '{{record}}', (r.record -> 'record') - 'created_by')
FROM waitlist_entries e
WHERE r.table_name = 'waitlist' AND r.patient_id IS NULL
  AND e.id = (r.record ->> 'entry_id')::uuid AND e.patient_id IS NOT NULL;
UPDATE realtime_events
SET record = jsonb_set(record, '{{record}}', (record -> 'record') - 'created_by')
WHERE table_name = 'waitlist' AND record -> 'record' ? 'created_by';
"""

DOWNGRADE = r"""
CREATE OR REPLACE FUNCTION record_waitlist_event() RETURNS trigger
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
ALTER FUNCTION record_waitlist_event() OWNER TO {definer};
UPDATE realtime_events SET patient_id = NULL WHERE table_name = 'waitlist';
"""


def _script(template: str) -> str:
    role = str(context.config.attributes.get("app_role", "dentalcare_app"))
    return template.format(app_role=role, definer=f"{role}_definer")


def upgrade() -> None:
    """Log each waitlist event with the patient whose entry it is."""
    run_script(_script(UPGRADE))


def downgrade() -> None:
    """Log waitlist events for the staff only again."""
    run_script(_script(DOWNGRADE))
