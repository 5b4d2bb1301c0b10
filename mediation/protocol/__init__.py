"""Wire protocol v1: the frames, their codec, and the stable error and close codes."""

SUBPROTOCOL = "mediation.v1"
