"""An agent that handles refund requests, governed by agento: ``make demo-agent``."""
