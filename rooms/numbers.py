"""The range of a record's numbers (seq, position) wherever they come in from outside.

The columns are 64-bit, but a JSON number is exact in every client (JavaScript's
included) only up to 2**53 - 1, so nothing past it is a number we could have
given out: the protocol, the HTTP API and the store refuse it as bad input.
"""

MAX_SEQ = 2**53 - 1
