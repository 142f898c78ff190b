"""naver_sms.gc_policy: the collector set for a run, and put back as it was after it."""

from __future__ import annotations

import gc

from naver_sms.gc_policy import YOUNG_THRESHOLD, run_gc


def test_within_a_run_what_existed_is_frozen_and_young_collections_are_rarer_then_all_is_back() -> None:
    before, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    with run_gc():
        # WHEN inside a run  THEN the objects alive on entry are out of every collection
        assert gc.get_freeze_count() > frozen_before
        assert gc.get_threshold() == (max(YOUNG_THRESHOLD, before[0]), *before[1:])
    # AND afterwards (a long-lived process: serve, a warm Lambda) the thresholds are back and nothing stays
    # frozen, so cycles a finished run left are freed
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_the_settings_are_put_back_when_the_run_raises() -> None:
    before = gc.get_threshold()
    try:
        with run_gc():
            raise RuntimeError("the run failed")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
