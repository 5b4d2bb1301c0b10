"""Benchmarks of the send path, each against real server subprocesses.

    python -m bench [commit] [--rooms 100] [--seconds 10] [--window 4]
                              [--body-bytes 200] [--modes per-message group]
    python -m bench scale-out [--rooms 100] [--seconds 10] [--rate 5]
                              [--postgres URL] [--redis URL]
                              [--modes 1-process 1-process+redis 2-processes]

`commit` (the default): group commit against a commit per message on
embedded SQLite. A fresh server per mode (its own temporary data dir, free
port, per-socket rate limit off); each socket keeps at most `--window` sends
unacknowledged, so the load is as high as the server allows. Only
MEDIATION_COMMIT_MAX_BATCH differs (1 vs the default).

`scale-out`: one server process against two sharing PostgreSQL and Redis,
at a fixed offered load: every socket sends `--rate` messages/s, paced, not
window-limited. Each mode gets a fresh PostgreSQL database (created, migrated
with `python -m mediation migrate`, dropped afterwards); the run gets its own
Redis key prefix, whose keys are deleted afterwards. With two processes a
room's client is on process A, its freelancer on B and its moderator on A or
B by turns, so every message crosses Redis for at least one recipient.

Both share the load generator: rooms and tokens opened over the HTTP API,
then 3 sockets per room (client, freelancer, moderator) send for a warm-up
and a measured window. The client and the freelancer write to `joint`; the
moderator cycles joint, caucus:client, joint, caucus:freelancer. Every
message id carries its send time, so each recipient measures delivery
latency (send -> receipt, one clock: the load generator's). Reported:
acked and delivered messages/s (message frames received by the other
sockets), ack and delivery latency p50/p99, errors, and the CPU used by the
servers, the load generator and the whole machine.

Layout: `__main__` (command line), `scenario` (options, what a scenario is),
`commit` and `scale_out` (the two scenarios), `servers` (server subprocesses),
`stores` (PostgreSQL database and Redis prefix), `seats`, `bots`, `pacing` and
`load` (the load generator), `usage` and `results` (what is measured),
`report` (the tables and ratios), `loop` (the event loop).
"""
