"""The trading-risk domain: states, entities, validation rules and events (standard library only)."""
