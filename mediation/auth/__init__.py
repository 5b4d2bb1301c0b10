"""Who is asking: room tokens for participants, the API key for the platform."""
