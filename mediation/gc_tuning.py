"""The garbage collector, tuned for a server that holds many long-lived sockets.

CPython's full (generation-2) collection walks every tracked object and stops
the event loop while it does. A started app is ~120k tracked objects, and
each held socket ~100 more (uvicorn's and websockets' protocol objects, the
ASGI scope, task and coroutine frames, our Connection and Session): while
2,000 sockets were opened the full collections took 53-166 ms, one every
~0.5 s, and one such pause decides a room's p99 (docs/benchmarks.md,
"Abuse"). Two measures, once the app has started (`after_startup`):

- `gc.freeze()`: the startup objects (the app, its routes, the services,
  every imported module's) leave the collector's generations for good, so
  no collection walks them again (~50 ms less per full collection with
  2,000 sockets). They are still freed by reference counting; only a
  reference cycle among them would never be collected, which startup
  objects, alive as long as the process, do not need.
- A full collection considered every 100 second-generation collections
  instead of 10 (`gc.set_threshold(700, 10, 100)`): ten times rarer, while
  the young generations, collected often and cheaply, are as before. The
  cost: cyclic garbage that reached the oldest generation waits longer.

MEDIATION_GC_TUNING=0 leaves CPython's collector as it is.
"""

import gc

THRESHOLD = (700, 10, 100)  # CPython's default is (700, 10, 10)


def after_startup() -> None:
    gc.set_threshold(*THRESHOLD)
    gc.collect()  # what startup left as garbage goes now, not frozen forever
    gc.freeze()
