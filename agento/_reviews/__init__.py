"""Reviews seen from outside a run: the review models, signed resolutions and reviewer identity,
the pending-reviews search attribute, and client helpers that list and resolve reviews."""
