"""Holds: a slot kept for one caller while they fill in the booking form."""
