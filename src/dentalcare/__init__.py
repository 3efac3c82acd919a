"""DentalCareConnect: booking for dental clinics, kept in sync in real time."""

__version__ = "0.1.0"
