"""Workflow-side governance: `execute_activity`/`start_activity`, the recorded decision step, and
the review board that pauses a run for a human."""
