"""The audit log: who changed or read what, append-only (migration 0013).

Changes are written by database triggers in the changing transaction; staff reads of a
patient's medical fields by `service.record_read`, from the service path that reads them.
"""
