"""Client-ready reports: a run's result composed into a document per client and audience, in
the client's language, rendered as HTML, PDF and XLSX (and the measurements as CSV and JSON).

A room of its own in the built-in layer: like every built-in it imports only cmflow's public
API. The ``report`` and ``email`` outputs use it.

- ``language``: the message catalogue (French, English) and Babel formatting of numbers,
  percentages, changes, dates and ranges.
- ``charts``: Vega-Lite charts rendered offline (SVG for HTML and PDF, PNG for e-mails).
- ``spreadsheets``: XLSX workbooks, CSV and JSON, with formulas from the public neutralised.
- ``pdf``: the HTML report printed to PDF.
"""
