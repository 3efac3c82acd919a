"""Clinic reports for staff: no-shows, cancellations, utilisation, bookings by source."""
