"""What agento tells operators while it runs: metrics through Temporal's own meter, spans under
Temporal's (when OpenTelemetry is installed and Temporal's tracing is on), and decision logs in
OPA's format. None of it can change or delay a decision."""
