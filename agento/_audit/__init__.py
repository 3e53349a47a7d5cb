"""Questions asked of recorded runs: the audit report of one run's history, replay of its
decisions, and impact analysis of a policy change."""
