"""Indexes for `since` replays by dentist, by patient and by table.

A replay reads the events of one channel after a position (realtime/repository.py,
`visible_events`): `<narrow> AND seq > $1 AND seq <= $2 AND table_name = ANY($3) ORDER BY
seq LIMIT n`, where <narrow> is `patient_id = $5` (a patient's appointments), `dentist_id
= $5` (a dentist's appointments, one dentist's availability) or nothing (the admin's
appointments, every dentist's availability, the dentists). Without these, every replay
walks the primary key from `since` and filters, so a sparse channel (one patient among
thousands) reads the whole retained log to find its few rows. With them it reads its own
rows in seq order and stops at the LIMIT. The patient and dentist indexes leave out the
rows without one (`slots` rows carry no patient, `dentists` rows no dentist of theirs).

Plain CREATE INDEX (the migration runs in a transaction): the table holds the retention
period's events only (7 days by default), so the build is short, but it does hold
event-producing commits back while it runs.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from dentalcare.db.migrate import run_script

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


UPGRADE = r"""
CREATE INDEX realtime_events_patient ON realtime_events (patient_id, seq)
    WHERE patient_id IS NOT NULL;
CREATE INDEX realtime_events_dentist ON realtime_events (dentist_id, seq)
    WHERE dentist_id IS NOT NULL;
CREATE INDEX realtime_events_table ON realtime_events (table_name, seq);
"""

DOWNGRADE = r"""
DROP INDEX IF EXISTS realtime_events_patient;
DROP INDEX IF EXISTS realtime_events_dentist;
DROP INDEX IF EXISTS realtime_events_table;
"""


def upgrade() -> None:
    """Add the replay indexes."""
    run_script(UPGRADE)


def downgrade() -> None:
    """Drop the replay indexes."""
    run_script(DOWNGRADE)
