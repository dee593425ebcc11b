"""Built-in classifier plugins: what labels text records with sentiment and language."""
