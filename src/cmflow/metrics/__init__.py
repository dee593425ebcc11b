"""Metrics for operators: Prometheus endpoints on the daemon and on the workers.

Built on prometheus-client (the ``metrics`` extra), and imported only when an address is set,
so that a daemon without metrics starts as fast as before. One module per concern:

- :mod:`.server`: the HTTP endpoint, with clear errors (extra missing, address in use);
- :mod:`.daemon`: the daemon's observer (runs by status, lateness, queue, runs in flight, up,
  scheduling) and :func:`~.daemon.serve_daemon_metrics`;
- :mod:`.outbox`: outbox depth and age, read from the store at scrape time, cached briefly;
- :mod:`.budgets`: API budget left per platform, from a snapshot function handed in;
- :mod:`.worker`: :func:`~.worker.serve_worker_metrics` for a Celery worker and its forked pool.

Nothing is imported here. See ``docs/metrics.md``.
"""
