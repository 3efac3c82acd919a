"""The waitlist (freed slots offered automatically to waiting patients) and recall."""
