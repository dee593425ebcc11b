"""``cmflow daemon DIR``: every workflow of a folder on its schedule.

One module per concern:

- :mod:`.settings`: the optional ``cmflow-daemon.toml`` (limits, logging, health outputs);
  :mod:`.settings_file` tells one by its name.
- :mod:`.catalog`: the watched folder; hot reload keeps the last valid version of each file.
- :mod:`.jobs`: the ``schedule`` library's job registry, on cmflow's drift-free, time-zone-correct
  slots and an injectable clock.
- :mod:`.service`: the loop that decides (catch-up, concurrency, retries, shutdown).
- :mod:`.leadership`: which of several daemons on one store schedules (a lease in the store).
- :mod:`.executor` / :mod:`.worker`: the seam where runs start (a process per run by default).
- :mod:`.health`: ``cmflow status`` and health alerts; :mod:`.logs`: text or JSON lines.

Nothing is imported here: ``cmflow validate`` reads a settings file through :mod:`.settings`
without the run machinery :mod:`.service` brings (Polars, SQLAlchemy, every plugin).
"""
