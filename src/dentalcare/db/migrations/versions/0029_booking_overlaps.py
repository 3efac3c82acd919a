"""A booking's patient lock and overlap check in one round trip (issue 17).

An online booking held a transaction-level lock on its patient (the account, or a
guest's e-mail address) and then looked for the patient's other active appointments
at that time: two statements, because the look-up must see whatever the booking it
waited for committed, and a statement's snapshot is taken before anything in it runs.
`booking_overlaps()` does both in one call: it is PL/pgSQL and VOLATILE, so its query
takes a new snapshot after the lock (READ COMMITTED). It runs as the caller
(SECURITY INVOKER): an account's look-up reads `appointments` under the caller's
row-level security as before, and a guest's goes through `guest_overlaps()`, the
definer's function of migration 0023. Staff bookings take no lock (`p_lock` false).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03
"""

from alembic import context

from dentalcare.db.migrate import run_script

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE FUNCTION booking_overlaps(p_starts timestamptz, p_ends timestamptz, p_patient uuid,
                                 p_email text, p_guests_only boolean, p_lock boolean)
RETURNS TABLE (id uuid, booking_reference text, dentist_id uuid, dentist_name text,
               appointment_date date, appointment_time time, starts_at timestamptz,
               ends_at timestamptz)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, public AS $$
#variable_conflict use_column
BEGIN
    IF p_lock THEN
        -- The key appointments.repository used: the account's id, else the address.
        PERFORM pg_advisory_xact_lock(
            hashtextextended(coalesce(p_patient::text, lower(p_email)), 18));
    END IF;
    IF p_patient IS NOT NULL THEN
        RETURN QUERY
            SELECT a.id, a.booking_reference, a.dentist_id, d.name, a.appointment_date,
                   a.appointment_time, a.starts_at, a.ends_at
            FROM appointments a JOIN dentists d ON d.id = a.dentist_id
            WHERE a.patient_id = p_patient
              AND a.status IN ('pending', 'confirmed')
              AND a.starts_at < p_ends AND a.ends_at > p_starts
            ORDER BY a.starts_at LIMIT 3;
    ELSE
        RETURN QUERY SELECT * FROM guest_overlaps(p_starts, p_ends, p_email, p_guests_only);
    END IF;
END
$$;
REVOKE ALL ON FUNCTION booking_overlaps(timestamptz, timestamptz, uuid, text, boolean, boolean)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION booking_overlaps(timestamptz, timestamptz, uuid, text, boolean, boolean)
    TO {app_role};
"""

DOWNGRADE = r"""
DROP FUNCTION IF EXISTS booking_overlaps(timestamptz, timestamptz, uuid, text, boolean, boolean);
"""


def _script(template: str) -> str:
    role = str(context.config.attributes.get("app_role", "dentalcare_app"))
    return template.format(app_role=role)


def upgrade() -> None:
    """Create booking_overlaps()."""
    run_script(_script(UPGRADE))


def downgrade() -> None:
    """Drop booking_overlaps()."""
    run_script(_script(DOWNGRADE))
