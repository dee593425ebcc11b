"""Delivery: the durable outbox through which notifiers' messages are sent, retried and
dead-lettered, by the run that queued them, the daemon or ``cmflow outbox flush``."""
