"""New hours are offered to the waitlist, as a cancellation is.

Issue 14: "whenever a slot frees (cancellation, reschedule, new hours, an expired hold),
the matching entries are offered it". Cancellations, reschedules and holds free an
interval of the occupancy table (0012's `record_freed_slot`); hours do not occupy
anything, so nothing told the offerer when a dentist's weekly hours grew or extra hours
were added. Now, when someone is waiting for that dentist (or for any dentist):
extra hours added in `availability_exceptions` record their exact interval as a
`freed_slots` row with source `hours`; a change to `dentist_availability` (weekly hours,
which may open time on many dates) records one row spanning from now to the latest date
any such entry still wants, unless one is already waiting to be processed (a weekly
editor's save of seven rows records one). The offerer works through every day of the
interval and offers each waiting entry a slot that suits it (for weekly hours that may be
a slot that was free before the change too: the change does not say which dates gained
time). The
dashboard's "freed slots" keep counting cancellations and staff offers only.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02
"""

from alembic import context

from dentalcare.db.migrate import run_script

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE freed_slots DROP CONSTRAINT IF EXISTS freed_slots_source_check;
ALTER TABLE freed_slots ADD CONSTRAINT freed_slots_source_check
    CHECK (source IN ('appointment', 'hold', 'offer', 'staff', 'hours'));

CREATE FUNCTION record_new_hours() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    last_day date;
BEGIN
    IF TG_TABLE_NAME = 'availability_exceptions' AND NOT NEW.is_available THEN
        RETURN NULL;  -- time off frees nothing
    END IF;
    SELECT max(latest_date) INTO last_day FROM waitlist_entries
    WHERE status = 'waiting' AND (dentist_id IS NULL OR dentist_id = NEW.dentist_id)
      AND latest_date >= (now() AT TIME ZONE 'UTC')::date - 1;
    IF last_day IS NULL OR (TG_TABLE_NAME = 'dentist_availability' AND EXISTS (
        SELECT FROM freed_slots
        WHERE processed_at IS NULL AND source = 'hours' AND dentist_id = NEW.dentist_id
          AND starts_at <= now())) THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'availability_exceptions' THEN
        -- Extra hours on one date: exactly that interval, in the dentist's zone.
        INSERT INTO freed_slots (dentist_id, starts_at, ends_at, source)
        SELECT NEW.dentist_id, (NEW.date + NEW.start_time) AT TIME ZONE d.timezone,
               (NEW.date + NEW.end_time) AT TIME ZONE d.timezone, 'hours'
        FROM dentists d WHERE d.id = NEW.dentist_id;
    ELSE
        -- Weekly hours: from now to the last day anyone waiting still wants.
        INSERT INTO freed_slots (dentist_id, starts_at, ends_at, source)
        VALUES (NEW.dentist_id, now(), (last_day + 2)::timestamp AT TIME ZONE 'UTC', 'hours');
    END IF;
    RETURN NULL;
END
$$;
ALTER FUNCTION record_new_hours() OWNER TO {definer};
REVOKE ALL ON FUNCTION record_new_hours() FROM PUBLIC;
CREATE TRIGGER dentist_availability_new_hours AFTER INSERT OR UPDATE ON dentist_availability
    FOR EACH ROW EXECUTE FUNCTION record_new_hours();
CREATE TRIGGER availability_exceptions_new_hours AFTER INSERT ON availability_exceptions
    FOR EACH ROW EXECUTE FUNCTION record_new_hours();
"""

DOWNGRADE = r"""
DROP TRIGGER IF EXISTS availability_exceptions_new_hours ON availability_exceptions;
DROP TRIGGER IF EXISTS dentist_availability_new_hours ON dentist_availability;
DROP FUNCTION IF EXISTS record_new_hours();
DELETE FROM freed_slots WHERE source = 'hours' AND id NOT IN (
    SELECT freed_slot_id FROM waitlist_offers WHERE freed_slot_id IS NOT NULL);
UPDATE freed_slots SET source = 'staff' WHERE source = 'hours';
ALTER TABLE freed_slots DROP CONSTRAINT IF EXISTS freed_slots_source_check;
ALTER TABLE freed_slots ADD CONSTRAINT freed_slots_source_check
    CHECK (source IN ('appointment', 'hold', 'offer', 'staff'));
"""


def _script(template: str) -> str:
    role = str(context.config.attributes.get("app_role", "dentalcare_app"))
    return template.replace("{definer}", f"{role}_definer")


def upgrade() -> None:
    """Record new hours for the offerer."""
    run_script(_script(UPGRADE))


def downgrade() -> None:
    """Drop the triggers; keep what was offered, as staff offers."""
    run_script(_script(DOWNGRADE))
