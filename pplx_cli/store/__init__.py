"""What pplx keeps on disk: settings (flags, environment, config file, the key, caches) and the
SQLite history.

May import: the base modules, wire, dialects and output.
"""
