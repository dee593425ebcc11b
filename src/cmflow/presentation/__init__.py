"""Presentation: a run's figures arranged and formatted for people (KPI tables, ranked posts,
inline charts, a terminal console), shared by outputs so every output shows the same numbers
the same way."""
