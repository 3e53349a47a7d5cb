"""Worker-side governance: the Temporal plugin, its interceptors, and the decision activity that
asks the policy engine."""
