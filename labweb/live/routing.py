"""Websocket routes (filled in by the live relay)."""
from channels.routing import URLRouter

websocket_application = URLRouter([])
