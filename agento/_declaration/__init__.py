"""Declaring activities: the postures an activity names, the decorator that records them, the
registration-time validator that checks them against `agento.rules`, and the idempotency key's
HTTP transport."""
