"""Adapters: the database, its migrations and repositories, the commit batcher, the event publisher."""
