"""agento's fault-injection suite: ``make faults`` (``python -m faults --help``).

Each scenario breaks something for real on Temporal's dev server (a worker SIGKILLed mid-step,
the server restarted, the policy engine down, a redeploy, reviewers racing, inputs that are not
what they should be) and reports figures with their goals. The figures are published in
docs/reliability.md; a broken invariant makes the command exit non-zero.
"""
