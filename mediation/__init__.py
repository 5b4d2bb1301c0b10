"""The mediation server: HTTP and WebSocket endpoints around `rooms` and `transcripts`."""
