"""The Decision record and what crosses the wire: the recorded answer of a policy engine, how much
of its input is recorded, and the names and shapes agento writes to Temporal history."""
