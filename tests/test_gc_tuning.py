"""The collector tuned once the app has started (mediation.gc_tuning), and its switch."""

import gc

from mediation import gc_tuning
from mediation.config import Settings


def test_gc_tuning_is_on_unless_turned_off() -> None:
    assert Settings.from_env({}).gc_tuning
    assert not Settings.from_env({"MEDIATION_GC_TUNING": "0"}).gc_tuning


def test_after_startup_freezes_what_exists_and_makes_full_collections_rarer() -> None:
    threshold = gc.get_threshold()
    try:
        gc_tuning.after_startup()
        assert gc.get_threshold() == gc_tuning.THRESHOLD
        assert gc.get_freeze_count() > 0
    finally:  # this test process goes on: leave its collector as it was
        gc.unfreeze()
        gc.set_threshold(*threshold)
