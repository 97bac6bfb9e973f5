"""Customer profiles: create, read, change, delete, list, search, look up, timeline."""
