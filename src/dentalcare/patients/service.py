"""Patient-record rules: who may see, export and erase whom, and what each holds.

Staff (admins, the front desk: `vocabulary.is_staff`) search patients and open any
patient's page; a patient opens their own. Export: the patient themself and admins.
Erasure: admins, and a patient for their own account. Someone else's record is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from dentalcare.auth.tokens import Principal
from dentalcare.db.claims import Claims
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.errors import Forbidden, NotFound
from dentalcare.patients import repository
from dentalcare.vocabulary import is_staff

SEARCH_LIMIT = 200
# Tables that hold rows about a patient without a foreign key to them, and that other
# issues add: read when they exist (the outbox's messages, a recall list).
MESSAGES_TABLE = "messages"
RECALLS_TABLE = "recalls"


@dataclass(frozen=True, slots=True)
class Patient:
    """Whose record a request names: a registered patient (user_id) or a guest (email)."""

    id: UUID
    kind: str
    user_id: UUID | None
    email: str
    full_name: str
    phone: str | None


def _json_value(value: Any) -> Any:
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)  # ranges, intervals and whatever a later column holds


def _row(row: asyncpg.Record | dict[str, Any]) -> dict[str, Any]:
    return {k: _json_value(v) for k, v in dict(row).items()}


def _elevated(caller: Principal) -> Claims:
    """The service's own claims for work the caller is entitled to but RLS keeps to the
    service (chat transcripts, guest rows); the caller's id stays set for the audit."""
    return Claims("system", user_id=caller.user_id)


async def _resolve(conn: asyncpg.Connection, patient_id: UUID) -> Patient | None:
    user = await repository.patient_user(conn, patient_id)
    if user is not None:
        return Patient(
            id=user["id"],
            kind="patient",
            user_id=user["id"],
            email=user["email"],
            full_name=user["full_name"],
            phone=user["phone"],
        )
    email = await repository.guest_email(conn, patient_id)
    if email is None:
        return None
    rows = await repository.appointments_of(conn, user_id=None, email=email)
    return Patient(
        id=patient_id,
        kind="guest",
        user_id=None,
        email=email,
        full_name=rows[0]["patient_name"],
        phone=rows[0]["patient_phone"],
    )


async def _patient_for(
    uow: UnitOfWork, caller: Principal, patient_id: UUID, *, staff_roles: bool
) -> Patient:
    """The patient `patient_id` names, if `caller` may act on them (else 404 / 403)."""
    own = caller.role == "patient" and caller.user_id == patient_id
    if not own and caller.role == "patient":
        raise NotFound("No such patient.")
    if not own and not staff_roles:
        raise Forbidden("This is for clinic staff only.")
    async with uow.acting_as(_elevated(caller)):
        patient = await _resolve(await uow.connection(), patient_id)
    if patient is None:
        raise NotFound("No such patient.")
    return patient


async def search(*, uow: UnitOfWork, caller: Principal, text: str) -> dict[str, Any]:
    """Patients and guests matching `text` (name, e-mail, phone, booking reference)."""
    if not is_staff(caller.role):
        raise Forbidden("This is for clinic staff only.")
    async with uow.acting_as(_elevated(caller)):
        rows = await repository.search(
            await uow.connection(), text=text.strip(), limit=SEARCH_LIMIT
        )
    return {"items": [_row(r) for r in rows]}


async def _optional_rows(
    conn: asyncpg.Connection, table: str, patient: Patient, appointment_ids: list[UUID]
) -> list[dict[str, Any]]:
    """Rows of a table another issue adds (messages, recalls), by appointment or patient;
    an empty list while the table does not exist."""
    if not await repository.table_exists(conn, table):
        return []
    columns = await repository.columns_of(conn, table)
    if "appointment_id" in columns:
        rows = await repository.rows_where(conn, table, "appointment_id", appointment_ids)
    elif "patient_id" in columns and patient.user_id is not None:
        rows = await repository.rows_where(conn, table, "patient_id", [patient.user_id])
    else:
        rows = []
    return [_row(r) for r in rows]


async def get_patient(*, uow: UnitOfWork, caller: Principal, patient_id: UUID) -> dict[str, Any]:
    """The patient page: profile, appointments, no-shows, recall and messages."""
    patient = await _patient_for(uow, caller, patient_id, staff_roles=is_staff(caller.role))
    async with uow.acting_as(_elevated(caller)):
        conn = await uow.connection()
        appointments = await repository.appointments_of(
            conn, user_id=patient.user_id, email=None if patient.user_id else patient.email
        )
        ids = [a["id"] for a in appointments]
        messages = await _optional_rows(conn, MESSAGES_TABLE, patient, ids)
        recall = await _optional_rows(conn, RECALLS_TABLE, patient, ids)
    return {
        "id": str(patient.id),
        "kind": patient.kind,
        "full_name": patient.full_name,
        "email": patient.email,
        "phone": patient.phone,
        "appointments": [_row(a) for a in appointments],
        "no_show_count": sum(1 for a in appointments if a["status"] == "no_show"),
        "visit_count": sum(1 for a in appointments if a["status"] == "completed"),
        "recall": recall,
        "messages": messages,
    }


async def export(*, uow: UnitOfWork, caller: Principal, patient_id: UUID) -> dict[str, Any]:
    """Everything held about the patient, table by table, every column (SELECT *): the
    account, the appointments, and every row that points at either by a foreign key
    (chat sessions, later tables), plus the tables of other issues that exist."""
    patient = await _patient_for(uow, caller, patient_id, staff_roles=caller.role == "admin")
    tables: dict[str, list[dict[str, Any]]] = {}
    async with uow.acting_as(_elevated(caller)):
        conn = await uow.connection()
        if patient.user_id is not None:
            users = await repository.rows_where(conn, "users", "id", [patient.user_id])
            # The password hash is a credential, not information about the patient.
            tables["users"] = [
                {k: v for k, v in _row(r).items() if k != "password_hash"} for r in users
            ]
            appointments = await repository.rows_where(
                conn, "appointments", "patient_id", [patient.user_id]
            )
        else:
            appointments = await repository.guest_appointment_rows(conn, patient.email)
        tables["appointments"] = [_row(r) for r in appointments]
        appointment_ids = [r["id"] for r in appointments]
        for parent, keys in (("users", [patient.user_id]), ("appointments", appointment_ids)):
            if parent == "users" and patient.user_id is None:
                continue
            for table, column in await repository.references_to(conn, parent):
                if table in ("users", "appointments"):
                    continue
                rows = await repository.rows_where(conn, table, column, keys)
                if rows:
                    tables.setdefault(table, []).extend(_row(r) for r in rows)
        for table in (MESSAGES_TABLE, RECALLS_TABLE):
            if table not in tables:
                rows = await _optional_rows(conn, table, patient, appointment_ids)
                if rows:
                    tables[table] = rows
    return {
        "patient": {"id": str(patient.id), "kind": patient.kind, "email": patient.email},
        "tables": tables,
    }


async def erase(*, uow: UnitOfWork, caller: Principal, patient_id: UUID) -> None:
    """Anonymise the patient's personal and medical fields everywhere, keeping the
    scheduling facts (dates, dentist, status, source, payment); close their sessions."""
    patient = await _patient_for(uow, caller, patient_id, staff_roles=caller.role == "admin")
    erased_email = f"erased-{patient.id}@erased.invalid"
    async with uow.acting_as(_elevated(caller)):
        conn = await uow.connection()
        ids = await repository.erase_appointments(
            conn, user_id=patient.user_id, email=patient.email, erased_email=erased_email
        )
        if patient.user_id is not None:
            await repository.erase_user(conn, patient.user_id, email=erased_email)
        await repository.scrub_chats(
            conn,
            user_id=patient.user_id,
            needles=[patient.email, patient.phone or "", patient.full_name],
        )
        await repository.erase_history(conn, ids, repository.erased_fields(erased_email))
        await repository.erase_side_data(
            conn,
            user_id=patient.user_id,
            email=patient.email,
            phone=patient.phone,
            appointment_ids=ids,
            erased_email=erased_email,
        )
