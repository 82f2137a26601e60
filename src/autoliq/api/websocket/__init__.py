"""`/v1/websocket`: Tradovate's WebSocket protocol (frames, authorize, requests, syncrequest, props)."""

from autoliq.api.websocket.endpoint import WebSocketController
from autoliq.api.websocket.protocol import WebSocketSettings

__all__ = ["WebSocketController", "WebSocketSettings"]
