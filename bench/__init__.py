"""Benchmarks of the send path, each against real server subprocesses.

    python -m bench [commit] [--rooms 100] [--seconds 10] [--window 4]
                              [--body-bytes 200] [--modes per-message group]
    python -m bench relay     [--rooms 100] [--seconds 10] [--window 4]
                              [--body-bytes 200] [--modes relay product]
    python -m bench scale-out [--rooms 100] [--seconds 10] [--rate 5]
                              [--postgres URL] [--redis URL]
                              [--modes 1-process 1-process+redis 2-processes]

`commit` (the default): group commit against a commit per message on
embedded SQLite. A fresh server per mode (its own temporary data dir, free
port, per-socket rate limit off); each socket keeps at most `--window` sends
unacknowledged, so the load is as high as the server allows. Only
MEDIATION_COMMIT_MAX_BATCH differs (1 vs the default).

`relay`: the product (group commit on SQLite, as `commit`'s `group`)
against a bare relay (`bare_relay`: plain `websockets`, just hello/welcome
and send/ack/message, no auth, no storage), the same load as `commit`, the
relay first; each server pinned to one CPU, the load generator to another.
The relay's tokens are minted by the bench; the product's come from its API.

`scale-out`: one server process against two sharing PostgreSQL and Redis,
at a fixed offered load: every socket sends `--rate` messages/s, paced, not
window-limited. Each mode gets a fresh PostgreSQL database (created, migrated
with `python -m mediation migrate`, dropped afterwards); the run gets its own
Redis key prefix, whose keys are deleted afterwards. With two processes a
room's client is on process A, its freelancer on B and its moderator on A or
B by turns, so every message crosses Redis for at least one recipient.

All three share the load generator: rooms and tokens opened over the HTTP API
(minted, for the relay), then 3 sockets per room (client, freelancer, moderator) send for a warm-up
and a measured window. The client and the freelancer write to `joint`; the
moderator cycles joint, caucus:client, joint, caucus:freelancer. Every
message id carries its send time, so each recipient measures delivery
latency (send -> receipt, one clock: the load generator's). Reported:
acked and delivered messages/s (message frames received by the other
sockets), ack and delivery latency p50/p99, errors, and the CPU used by the
servers, the load generator and the whole machine.

Layout: `__main__` (command line), `scenario` (options, what a scenario is),
`commit`, `relay` and `scale_out` (the scenarios), `bare_relay` (the floor),
`servers` (server subprocesses), `stores` (PostgreSQL database and Redis
prefix), `seats`, `bots`, `pacing` and `load` (the load generator), `usage`
and `results` (what is measured), `report` (the tables and ratios), `loop`
(the event loop).
"""
