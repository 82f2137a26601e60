"""Telemetry: metrics, their sharing across workers, logging. A leaf every layer may import."""
