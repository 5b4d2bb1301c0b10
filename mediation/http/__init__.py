"""The HTTP API for operators and the host platform."""
