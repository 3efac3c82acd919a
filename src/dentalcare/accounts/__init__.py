"""Accounts and one-click links: manage links (confirm, cancel, reschedule without a
login), unsubscribe, password reset and change, e-mail verification, "e-mail me my
bookings"."""
