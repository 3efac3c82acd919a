"""Appointments: booking, the status machine, rescheduling, cancellation."""
