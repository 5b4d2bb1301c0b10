"""The real-time engine: who is in a room, what each role may see, and fan-out.

It takes and yields plain objects and knows nothing of sockets, HTTP or SQL:
`mediation` plugs a message log and connection sinks into it.
"""
