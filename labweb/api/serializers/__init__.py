"""How the API writes and reads the records, one module per app whose records it shows."""
