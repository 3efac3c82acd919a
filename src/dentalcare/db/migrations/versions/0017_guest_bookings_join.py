"""A verified patient's earlier guest bookings join their account.

Since 0001 an appointment's `patient_id` never changes. Issue 13 asks that when a
registered patient verifies their e-mail address, the bookings they made earlier as a
guest under that address join their account (they see them in "My appointments", and
their reminders follow the account's opt-outs). This relaxes the rule by exactly that
much: `patient_id` may go from NULL to a user, only under the service's own claims
(`system`, which the verification runs as), and never change otherwise. The booking
reference, source and creation time still never change.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from dentalcare.db.migrate import run_script

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# 0001's appointments_before_write() (with 0004's pinned search_path), its identity rule a
# placeholder.
FUNCTION = r"""
CREATE OR REPLACE FUNCTION appointments_before_write() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public AS $$
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
       OR {patient_rule}
       OR NEW.booking_source <> OLD.booking_source
       OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION '{message}'
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
"""

JOINING = (
    "(NEW.patient_id IS DISTINCT FROM OLD.patient_id\n"
    "           AND NOT (OLD.patient_id IS NULL AND NEW.patient_id IS NOT NULL\n"
    "                    AND app_role() = 'system'))"
)
JOINING_MESSAGE = (
    "booking_reference, booking_source and created_at never change; patient_id only "
    "joins an account once"
)
NEVER = "NEW.patient_id IS DISTINCT FROM OLD.patient_id"
NEVER_MESSAGE = "booking_reference, patient_id, booking_source and created_at never change"


def _script(rule: str, message: str) -> str:
    return FUNCTION.replace("{patient_rule}", rule).replace("{message}", message)


def upgrade() -> None:
    """A guest booking may join an account, once, under the service's own claims."""
    run_script(_script(JOINING, JOINING_MESSAGE))


def downgrade() -> None:
    """Back to 0001's rule: patient_id never changes."""
    run_script(_script(NEVER, NEVER_MESSAGE))
