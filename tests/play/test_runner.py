import time

import numpy as np
import pytest

from nanogenie.play.runner import CATCH_UP_FRAMES, RESET, EngineRunner, next_deadline, run_script


def wait_for(condition, timeout=5.0):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out waiting for the engine thread"
        time.sleep(0.002)


def paced_starts(frame_seconds: list[float], period: float) -> list[float]:
    """When each frame starts under next_deadline, for frames taking the given times (simulated clock)."""
    now = deadline = 0.0
    starts = []
    for took in frame_seconds:
        starts.append(now)
        now += took
        deadline = next_deadline(deadline, now, period)
        now = max(now, deadline)  # the runner waits until the deadline
    return starts


def test_pacing_makes_up_late_frames_so_a_varying_engine_keeps_the_target_rate():
    period = 1 / 30
    starts = paced_starts([0.025, 0.040] * 60, period)  # averages 32.5 ms: just fast enough for 30 fps
    assert (starts[-1] - starts[0]) / (len(starts) - 1) == pytest.approx(period, rel=0.01)
    fast = paced_starts([0.010] * 20, period)  # a fast engine is held to the period, never faster
    assert np.diff(fast) == pytest.approx(period)


def test_pacing_after_a_stall_restarts_the_schedule_instead_of_racing():
    period = 1 / 30
    starts = paced_starts([0.010] * 5 + [0.5] + [0.010] * 20, period)
    after = starts[6:]  # the frames after the stalled one
    stall_end = starts[5] + 0.5
    # at most CATCH_UP_FRAMES periods of the stall are made up; the rest of it is let go
    assert after[-1] - stall_end >= (len(after) - 1 - CATCH_UP_FRAMES) * period - 1e-9
    assert np.diff(after[-5:]) == pytest.approx(period)


def test_depth_one_queue_keeps_only_the_newest_frame(fake_engine):
    runner = EngineRunner(fake_engine(), fps=0, script=[RESET, 1, 2, 3, 4])
    with runner:
        wait_for(lambda: runner.finished)
        item = runner.get_frame()
        assert (item.serial, item.action, item.index) == (5, 4, 4)  # frames 1-4 were stale: dropped
        assert runner.get_frame(timeout=0.01) is None
    assert not runner.alive


def test_recording_keeps_every_frame_in_order_with_the_start_state(fake_engine):
    runner = EngineRunner(fake_engine(), fps=0, script=[RESET, 1, 2, 3, 4, 5])
    assert runner.start_recording() == []
    with runner:
        wait_for(lambda: runner.finished)
    items = runner.take_recorded() + runner.stop_recording()
    assert [i.serial for i in items] == [1, 2, 3, 4, 5, 6]
    assert [i.action for i in items] == [RESET, 1, 2, 3, 4, 5]
    assert all(i.model_ms == 1.5 for i in items)


def test_frames_match_a_synchronous_run_of_the_same_script(fake_engine):
    script = [RESET, 3, 3, 1, RESET, 2, 7]
    sync = []
    run_script(fake_engine(seed=4), script, sync.append)
    runner = EngineRunner(fake_engine(seed=4), fps=0, script=script)
    runner.start_recording()
    with runner:
        wait_for(lambda: runner.finished)
    threaded = runner.stop_recording()
    assert [i.index for i in sync] == [0, 1, 2, 3, 0, 1, 2]
    assert len(threaded) == len(sync)
    for a, b in zip(sync, threaded):
        assert a.action == b.action and np.array_equal(a.frame, b.frame)


def test_live_action_and_pause(fake_engine):
    engine = fake_engine()
    runner = EngineRunner(engine, fps=500, action=0)
    with runner:
        runner.set_action(6)
        wait_for(lambda: getattr(runner.get_frame(0.01), "action", None) == 6)
        runner.pause(True)
        time.sleep(0.03)  # a step already under way may still finish
        paused_at = engine.total_steps
        time.sleep(0.05)
        assert engine.total_steps == paused_at and runner.paused
        runner.request_reset()  # a reset still happens while paused
        wait_for(lambda: getattr(runner.get_frame(0.01), "action", None) == RESET)
        assert engine.total_steps == paused_at
        runner.pause(False)
        wait_for(lambda: engine.total_steps > paused_at)
    assert not runner.alive


def test_reset_request_gives_a_prompt_frame(fake_engine):
    runner = EngineRunner(fake_engine(), fps=500, action=2)
    runner.start_recording()
    with runner:
        wait_for(lambda: runner.get_frame() is not None and runner.get_frame(0.05) is not None)
        runner.request_reset()
        seen = []
        wait_for(lambda: seen.extend(runner.take_recorded()) or any(i.index == 0 for i in seen[1:]))
    actions = [i.action for i in seen]
    first_reset = actions.index(RESET, 1)
    assert seen[first_reset].index == 0 and all(a == 2 for a in actions[1:first_reset])


def test_engine_error_is_raised_in_the_main_thread_and_the_thread_ends(fake_engine):
    runner = EngineRunner(fake_engine(fail_at=3), fps=0, action=1)
    runner.start()
    with pytest.raises(RuntimeError, match="fake engine failure"):
        wait_for(lambda: runner.get_frame(0.01) is None and False)
    runner.stop()
    runner.join()
    assert not runner.alive


def test_a_held_key_that_owns_several_codes_lets_the_engine_pick_each_frame(fake_engine):
    engine = fake_engine()
    runner = EngineRunner(engine, fps=500, action=(5, 2))
    with runner:
        wait_for(lambda: getattr(runner.get_frame(0.01), "action", None) == 5)  # nothing shown yet: the first
        runner.set_action(2)
        wait_for(lambda: getattr(runner.get_frame(0.01), "action", None) == 2)
        runner.set_action((5, 2))  # the world now shows 2, one of the key's codes: it plays on
        time.sleep(0.03)
        recorded = []
        runner.start_recording()

        def three_recorded():
            recorded.extend(runner.take_recorded())
            return len(recorded) >= 3

        wait_for(three_recorded)
    assert {item.action for item in recorded} == {2}
