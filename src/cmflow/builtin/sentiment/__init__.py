"""The built-in sentiment model (French and English, offline): see :mod:`.model`."""
