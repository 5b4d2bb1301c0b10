"""The WebSocket side: one connection's queue and writer, one session's frames."""
