"""Erasure reaches the copies the service cannot write: one SECURITY DEFINER function.

A patient's erasure (`patients.service.erase`) anonymises their account, appointments and
chat transcripts as the service. Two more places hold their personal data and are
closed to the service's role: the realtime event log (`record` / `old_record`: a copy of
every appointment row as it changed, kept for the replay window) and `guest_bookings`
(the address a guest booked from). `erase_patient_history(ids, erased)` overwrites, for
the appointments `ids`, the personal keys of every logged copy with the erased values
(`record || erased`) and empties the guest address, and nothing else; it runs only under
the service's own claims. It belongs to the definer role of migration 0004.

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-02
"""

from alembic import context

from dentalcare.db.migrate import run_script

revision = "0014"
down_revision = "0013_staff_audit"
branch_labels = None
depends_on = None


UPGRADE = r"""
GRANT UPDATE (record, old_record) ON realtime_events TO {definer};
GRANT UPDATE (address) ON guest_bookings TO {definer};
CREATE POLICY guest_bookings_definer_erase ON guest_bookings FOR UPDATE TO {definer}
    USING (true) WITH CHECK (true);

CREATE FUNCTION erase_patient_history(ids uuid[], erased jsonb)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF app_role() IS DISTINCT FROM 'system' THEN
        RAISE EXCEPTION 'only the service itself erases patient history'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF jsonb_typeof(erased) IS DISTINCT FROM 'object' OR erased ?| ARRAY[
            'id', 'status', 'dentist_id', 'patient_id', 'starts_at', 'ends_at',
            'appointment_date', 'appointment_time', 'booking_reference'] THEN
        RAISE EXCEPTION 'erasure overwrites personal fields only'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE realtime_events
    SET record = CASE WHEN record IS NULL THEN NULL ELSE record || erased END,
        old_record = CASE WHEN old_record IS NULL THEN NULL ELSE old_record || erased END
    WHERE table_name = 'appointments'
      AND (coalesce(record, old_record) ->> 'id')::uuid = ANY(ids);
    UPDATE guest_bookings SET address = '' WHERE appointment_id = ANY(ids);
END
$$;
ALTER FUNCTION erase_patient_history(uuid[], jsonb) OWNER TO {definer};
REVOKE ALL ON FUNCTION erase_patient_history(uuid[], jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION erase_patient_history(uuid[], jsonb) TO {app_role};
"""

DOWNGRADE = r"""
DROP FUNCTION IF EXISTS erase_patient_history(uuid[], jsonb);
DROP POLICY IF EXISTS guest_bookings_definer_erase ON guest_bookings;
REVOKE UPDATE (address) ON guest_bookings FROM {definer};
REVOKE UPDATE (record, old_record) ON realtime_events FROM {definer};
"""


def _script(template: str) -> str:
    role = str(context.config.attributes.get("app_role", "dentalcare_app"))
    return template.format(app_role=role, definer=f"{role}_definer")


def upgrade() -> None:
    """Create erase_patient_history(), owned by the definer."""
    run_script(_script(UPGRADE))


def downgrade() -> None:
    """Drop erase_patient_history() and the definer's rights it used."""
    run_script(_script(DOWNGRADE))
