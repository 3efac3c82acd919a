"""Changes to chairs, treatment types, who performs them and the clinic's settings are
logged on the realtime event log too (issue 12: the slots cache).

Each process keeps its `GET /api/dentists/{id}/slots` answers until its listener reads an
event of a table a slot depends on (`availability.cache`). Appointments, holds, hours,
exceptions, closures and dentists were logged already; a chair taken out of service, a
treatment's new duration or buffers, a dentist no longer performing one, or a new default
treatment moved slots without a word to the other processes. Their events carry no
record (an empty object, no channel routes them: clients never see them); they only say
that the table changed, in commit order, on the same horizon protocol as every other
event (the shared advisory lock, the seq drawn at commit by a deferred trigger).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03
"""

from alembic import context

from dentalcare.db.migrate import run_script

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

TABLES = ("chairs", "treatment_types", "treatment_dentists", "clinic_settings")

UPGRADE = r"""
CREATE FUNCTION record_setup_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(7216011);
    INSERT INTO realtime_events (seq, table_name, op, record, old_record, dentist_id)
    VALUES (nextval('realtime_events_seq'), TG_TABLE_NAME, TG_OP, '{{}}'::jsonb, NULL, NULL);
    RETURN NULL;
END
$$;
ALTER FUNCTION record_setup_event() OWNER TO {definer};
REVOKE ALL ON FUNCTION record_setup_event() FROM PUBLIC;
"""

TRIGGER = r"""
CREATE CONSTRAINT TRIGGER {table}_realtime
    AFTER INSERT OR UPDATE OR DELETE ON {table}
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_setup_event();
"""

DOWNGRADE = r"""
DROP FUNCTION IF EXISTS record_setup_event() CASCADE;
DELETE FROM realtime_events WHERE table_name IN ('chairs', 'treatment_types',
                                                 'treatment_dentists', 'clinic_settings');
"""


def _script(template: str) -> str:
    role = str(context.config.attributes.get("app_role", "dentalcare_app"))
    return template.format(app_role=role, definer=f"{role}_definer")


def upgrade() -> None:
    """Log changes of the tables slots depend on that were not logged yet."""
    triggers = "".join(TRIGGER.format(table=table) for table in TABLES)
    run_script(_script(UPGRADE) + triggers)


def downgrade() -> None:
    """Stop logging them (the triggers go with the function)."""
    run_script(_script(DOWNGRADE))
