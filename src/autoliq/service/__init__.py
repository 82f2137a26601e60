"""The service layer: command handlers, read-side views, ports, the clock and credentials."""
