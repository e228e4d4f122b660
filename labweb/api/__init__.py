"""The JSON API for scripts (/api/v1/): the same records and the same rules as the pages, with personal tokens."""
