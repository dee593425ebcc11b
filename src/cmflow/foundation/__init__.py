"""The foundation: what every other layer builds on, and which imports nothing else of cmflow.

Records and their kinds, periods and schedules, measurements, alerts, secrets and their
redaction, user-facing errors, durations, text files, silences, stopping on a signal.
"""
