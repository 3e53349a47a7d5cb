"""The smallest end-to-end agento run: a governed worker on Temporal's dev server."""
