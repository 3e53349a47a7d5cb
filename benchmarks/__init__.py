"""agento's benchmarks: ``make bench`` (``python -m benchmarks``) runs them all."""
