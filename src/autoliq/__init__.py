"""autoliq: an account-risk service that speaks Tradovate's partner API."""

__version__ = "0.2.0"
