"""Chair-picking bookings and holds take one clinic-wide lock until they commit.

Each active appointment or hold occupies one row of `occupancy` that two exclusion
constraints check, one on the dentist and one on the chair. Two transactions inserting
rows that conflict on either wait for each other when both are still in progress, and
PostgreSQL's deadlock detector then aborts one of them (a 500 for that booking). With
the outbox a booking's transaction lives longer (it writes its messages after the
insert), and 30 bookings racing for two chairs deadlocked every run. `occupy()` now
takes a transaction-level advisory lock before it picks a chair, so chair-picking
writers queue instead; with no chairs defined nothing changes (one dentist constraint,
no chair loop).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from dentalcare.db.migrate import run_script

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE OR REPLACE FUNCTION occupy(p_appointment uuid, p_hold uuid, p_dentist uuid, p_chair uuid,
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
    -- One chair-picking writer at a time, until it commits: two bookings that each
    -- insert a row the other's exclusion check must wait for would deadlock (and a
    -- booking's transaction goes on to write its messages, which widens the window).
    PERFORM pg_advisory_xact_lock(7216012);
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
"""

DOWNGRADE = r"""
CREATE OR REPLACE FUNCTION occupy(p_appointment uuid, p_hold uuid, p_dentist uuid, p_chair uuid,
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
"""


def upgrade() -> None:
    """occupy() queues chair-picking writers on one advisory lock."""
    run_script(UPGRADE)


def downgrade() -> None:
    """occupy() as migration 0009 wrote it."""
    run_script(DOWNGRADE)
