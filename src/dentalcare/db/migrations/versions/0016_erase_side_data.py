"""Erasure reaches what version 2 added: messages, links, the waitlist, recalls, opt-outs.

Migration 0014's erase_patient_history() covered the realtime log's appointment copies
and guest addresses. The outbox (0010), the links (0011) and the waitlist and recall
(0012) added tables that hold a patient's name, address or phone number, most of them
closed to the service's role. `erase_patient_side_data(user, email, phone, ids, erased)`
runs only under the service's own claims and, for that patient:

- messages (theirs, or for their appointments `ids`, or sent to their address or number):
  the address, subject, context and kept copy are blanked; one still waiting is
  cancelled (nothing more is sent to an erased patient);
- waitlist entries and recalls: name, address and phone replaced, a waiting entry
  cancelled; the waitlist's realtime copies lose the name;
- link tokens and reminder opt-outs under that address are deleted (a link into an
  erased booking must not work, and an opt-out only names an address).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from alembic import context

from dentalcare.db.migrate import run_script

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


UPGRADE = r"""
GRANT SELECT, UPDATE (patient_name, patient_email, patient_phone, status)
    ON waitlist_entries TO {definer};
CREATE POLICY waitlist_entries_definer_erase ON waitlist_entries FOR UPDATE TO {definer}
    USING (true) WITH CHECK (true);
GRANT SELECT, DELETE ON link_tokens TO {definer};
CREATE POLICY link_tokens_definer_read ON link_tokens FOR SELECT TO {definer} USING (true);
CREATE POLICY link_tokens_definer_erase ON link_tokens FOR DELETE TO {definer} USING (true);
GRANT DELETE ON reminder_optouts TO {definer};
CREATE POLICY reminder_optouts_definer_erase ON reminder_optouts FOR DELETE TO {definer}
    USING (true);

CREATE FUNCTION erase_patient_side_data(p_user uuid, p_email text, p_phone text,
                                        p_ids uuid[], p_erased text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    entries uuid[];
BEGIN
    IF app_role() IS DISTINCT FROM 'system' THEN
        RAISE EXCEPTION 'only the service itself erases patient data'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE messages
    SET to_address = CASE WHEN channel = 'sms' THEN '-' ELSE p_erased END,
        subject = '', context = '{{}}'::jsonb, captured = NULL,
        status = CASE WHEN status = 'scheduled' THEN 'cancelled' ELSE status END
    WHERE appointment_id = ANY(p_ids)
       OR (p_user IS NOT NULL AND user_id = p_user)
       OR lower(to_address) = lower(p_email)
       OR (coalesce(p_phone, '') <> '' AND to_address = p_phone);
    WITH erased AS (
        UPDATE waitlist_entries
        SET patient_name = 'Erased patient', patient_email = p_erased, patient_phone = '---',
            status = CASE WHEN status = 'waiting' THEN 'cancelled' ELSE status END
        WHERE (p_user IS NOT NULL AND patient_id = p_user)
           OR lower(patient_email) = lower(p_email)
        RETURNING id)
    SELECT coalesce(array_agg(id), '{{}}') INTO entries FROM erased;
    UPDATE realtime_events
    SET record = jsonb_set(record, '{{record,patient_name}}', '"Erased patient"')
    WHERE table_name = 'waitlist' AND record -> 'record' ? 'patient_name'
      AND (record ->> 'entry_id')::uuid = ANY(entries);
    UPDATE recalls SET patient_name = 'Erased patient', patient_email = p_erased
    WHERE (p_user IS NOT NULL AND patient_id = p_user)
       OR lower(patient_email) = lower(p_email);
    DELETE FROM link_tokens
    WHERE appointment_id = ANY(p_ids)
       OR (p_user IS NOT NULL AND user_id = p_user)
       OR lower(email) = lower(p_email);
    DELETE FROM reminder_optouts WHERE email = lower(p_email);
END
$$;
ALTER FUNCTION erase_patient_side_data(uuid, text, text, uuid[], text) OWNER TO {definer};
REVOKE ALL ON FUNCTION erase_patient_side_data(uuid, text, text, uuid[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION erase_patient_side_data(uuid, text, text, uuid[], text)
    TO {app_role};
"""

DOWNGRADE = r"""
DROP FUNCTION IF EXISTS erase_patient_side_data(uuid, text, text, uuid[], text);
DROP POLICY IF EXISTS reminder_optouts_definer_erase ON reminder_optouts;
REVOKE DELETE ON reminder_optouts FROM {definer};
DROP POLICY IF EXISTS link_tokens_definer_erase ON link_tokens;
DROP POLICY IF EXISTS link_tokens_definer_read ON link_tokens;
REVOKE SELECT, DELETE ON link_tokens FROM {definer};
DROP POLICY IF EXISTS waitlist_entries_definer_erase ON waitlist_entries;
REVOKE UPDATE (patient_name, patient_email, patient_phone, status)
    ON waitlist_entries FROM {definer};
"""


def _script(template: str) -> str:
    role = str(context.config.attributes.get("app_role", "dentalcare_app"))
    return template.format(app_role=role, definer=f"{role}_definer")


def upgrade() -> None:
    """Create erase_patient_side_data(), owned by the definer."""
    run_script(_script(UPGRADE))


def downgrade() -> None:
    """Drop it and the rights it needed."""
    run_script(_script(DOWNGRADE))
