"""/api/messages and an appointment's messages: the outbox as staff and patients see it."""
