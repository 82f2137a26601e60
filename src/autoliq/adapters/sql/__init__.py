"""The SQL layer: the one schema, codec and statements, the unit of work, the repositories."""
