"""Guest bookings remember the address they came from, and can be counted against a cap.

A guest (no account) could otherwise hold every free slot of a clinic with made-up
names. The service caps a guest's upcoming bookings per e-mail address, per phone number
and per client address; row-level security hides other guests' bookings from the guest
asking, so the counts come from a SECURITY DEFINER function that returns numbers only.
The address is written once, by the booking's own statement, and is readable by nobody
through the service (INSERT is its only grant; the definer role of 0004, which owns the
counting function, reads it).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from alembic import context

from dentalcare.db.migrate import run_script

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


UPGRADE = r"""
-- A phone number as the caps compare it: its digits ("+1 555-0199" = "15550199").
CREATE FUNCTION phone_digits(phone text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, public AS $$
    SELECT regexp_replace(phone, '[^0-9]', '', 'g')
$$;

-- Every booking a guest made (web form or chatbot, no account), and where it came from.
CREATE TABLE guest_bookings (
    appointment_id  uuid PRIMARY KEY REFERENCES appointments (id) ON DELETE CASCADE,
    address         text NOT NULL CHECK (length(address) <= 100)
);
CREATE INDEX guest_bookings_address ON guest_bookings (address);
CREATE INDEX appointments_active_phone ON appointments (phone_digits(patient_phone))
    WHERE patient_id IS NULL AND status IN ('pending', 'confirmed');

ALTER TABLE guest_bookings ENABLE ROW LEVEL SECURITY;
ALTER TABLE guest_bookings FORCE ROW LEVEL SECURITY;
CREATE POLICY guest_bookings_insert ON guest_bookings FOR INSERT
    WITH CHECK (app_role() IN ('anonymous', 'system'));
CREATE POLICY guest_bookings_definer_read ON guest_bookings FOR SELECT TO {definer}
    USING (true);
GRANT SELECT ON guest_bookings TO {definer};

-- A guest's upcoming (active, not begun by p_now) bookings with this e-mail address, this
-- phone number and from this address. Two bookings that share any of the three take
-- turns from here to their commit, so that both cannot slip under the cap together.
CREATE FUNCTION guest_upcoming_bookings(p_email text, p_phone text, p_address text,
                                        p_now timestamptz)
RETURNS TABLE (by_email bigint, by_phone bigint, by_address bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    k integer;
BEGIN
    -- Keys of the two-integer form (7216012, hash): apart from the event log's lock.
    FOR k IN
        SELECT DISTINCT key FROM unnest(ARRAY[
            hashtext('email:' || lower(p_email)),
            hashtext('phone:' || phone_digits(p_phone)),
            hashtext('address:' || p_address)]) AS key
        WHERE key IS NOT NULL
        ORDER BY key
    LOOP
        PERFORM pg_advisory_xact_lock(7216012, k);
    END LOOP;
    RETURN QUERY SELECT
        (SELECT count(*) FROM appointments a JOIN guest_bookings g ON g.appointment_id = a.id
         WHERE lower(a.patient_email) = lower(p_email)
           AND a.status IN ('pending', 'confirmed') AND a.starts_at > p_now),
        (SELECT count(*) FROM appointments a JOIN guest_bookings g ON g.appointment_id = a.id
         WHERE phone_digits(a.patient_phone) = phone_digits(p_phone)
           AND a.patient_id IS NULL AND a.status IN ('pending', 'confirmed')
           AND a.starts_at > p_now),
        (SELECT count(*) FROM guest_bookings g JOIN appointments a ON a.id = g.appointment_id
         WHERE g.address = p_address
           AND a.status IN ('pending', 'confirmed') AND a.starts_at > p_now);
END
$$;
ALTER FUNCTION guest_upcoming_bookings(text, text, text, timestamptz) OWNER TO {definer};
REVOKE ALL ON FUNCTION guest_upcoming_bookings(text, text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION guest_upcoming_bookings(text, text, text, timestamptz) TO {app_role};
GRANT INSERT ON guest_bookings TO {app_role};
"""

DOWNGRADE = r"""
DROP FUNCTION IF EXISTS guest_upcoming_bookings(text, text, text, timestamptz);
DROP TABLE IF EXISTS guest_bookings;
DROP INDEX IF EXISTS appointments_active_phone;
DROP FUNCTION IF EXISTS phone_digits(text);
"""


def _app_role() -> str:
    return str(context.config.attributes.get("app_role", "dentalcare_app"))


def _script(template: str) -> str:
    role = _app_role()
    return template.format(app_role=role, definer=f"{role}_definer")


def upgrade() -> None:
    """Add guest_bookings and guest_upcoming_bookings()."""
    run_script(_script(UPGRADE))


def downgrade() -> None:
    """Drop them."""
    run_script(_script(DOWNGRADE))
