"""The HTTP API: Tradovate's /v1 paths, our /_autoliq extensions, one app factory."""
