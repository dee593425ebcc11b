"""The built-in sentiment model: negative / neutral / positive and a score for French and English social-media texts, offline."""
