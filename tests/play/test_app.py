import json
import time
from itertools import groupby

import numpy as np
import pygame
import pytest

from nanogenie.play.app import AppSettings, PlayApp
from nanogenie.play.keymap import parse_keymap
from nanogenie.play.recorder import frame_crc, log_script
from nanogenie.play.runner import EngineRunner, run_script

KEYMAP = 'idle = 0\n[bindings]\nright = 2\nspace = 3\n"right+space" = 5\n'


def post_keys(schedule):
    """An engine on_step hook that posts key events at given engine steps, as a player would."""
    def on_step(step):
        for event_type, key in schedule.get(step, []):
            pygame.event.post(pygame.event.Event(event_type, key=key))
    return on_step


def run_app(engine, tmp_path, record=True, frames=30, fps=50):
    settings = AppSettings(world="fake", device="cpu", num_actions=8, frame_size=16, scale=3, fps=fps,
                           record_path=tmp_path / "play.mp4" if record else None,
                           record_meta={"world": "fake", "seed": 0}, max_frames=frames, output_dir=tmp_path)
    app = PlayApp(EngineRunner(engine, fps), parse_keymap(KEYMAP, 8), settings)
    return app


def test_keys_drive_the_engine_and_the_recording_holds_30_frames_and_their_actions(fake_engine, decode, tmp_path):
    down, up = pygame.KEYDOWN, pygame.KEYUP
    engine = fake_engine(on_step=post_keys({5: [(down, pygame.K_RIGHT)], 12: [(down, pygame.K_SPACE)],
                                            20: [(up, pygame.K_RIGHT), (up, pygame.K_SPACE)]}))
    app = run_app(engine, tmp_path)
    app.run()
    log = json.loads((tmp_path / "play.json").read_text())
    frames = decode(tmp_path / "play.mp4")
    assert len(frames) == 30 == log["frames"] == len(log["events"])
    assert frames[0].shape == (48, 48, 3)  # 16 px frames at scale 3
    assert log["events"][0]["reset"] is True and log["prefix"] == []
    actions = [e["action"] for e in log["events"][1:]]
    assert [a for a, _ in groupby(actions)] == [0, 2, 5, 0]  # idle, right, right+space, idle again
    for frame, event in zip(frames[1:], log["events"][1:]):  # the video shows what the log says
        assert abs(int(frame[..., 0].mean()) - 30 * event["action"]) <= 4
    assert not app.runner.alive


def test_digits_reset_screenshot_and_recording_started_with_f9_replay_exactly(fake_engine, tmp_path, capsys):
    down, up = pygame.KEYDOWN, pygame.KEYUP
    engine = fake_engine(on_step=post_keys({3: [(down, pygame.K_7)], 6: [(down, pygame.K_F9)],
                                            10: [(down, pygame.K_RIGHT)], 14: [(up, pygame.K_RIGHT)],
                                            16: [(up, pygame.K_7), (down, pygame.K_r)],
                                            20: [(down, pygame.K_F12)]}))
    app = run_app(engine, tmp_path, record=False)
    app.run()
    out = capsys.readouterr().out
    assert "Esc quit" in out and "R reset" in out  # controls printed at start
    shots = list(tmp_path.glob("nanogenie-fake-*.png"))
    assert len(shots) == 1 and str(shots[0]) in out
    logs = list(tmp_path.glob("nanogenie-fake-*.json"))
    assert len(logs) == 1 and logs[0].with_suffix(".mp4").is_file()
    log = json.loads(logs[0].read_text())
    assert log["prefix"] and set(log["prefix"]) <= {0, 7}  # recording began mid-game: the start state
    actions = [e.get("action", "reset") for e in log["events"]]
    assert 7 in actions and "reset" in actions and 2 not in actions  # a held digit beats the keymap
    # The prefix + events rebuild exactly the recorded frames.
    script, warmup = log_script(log)
    replayed = []
    run_script(fake_engine(), script, lambda item: replayed.append(frame_crc(item.frame)))
    assert replayed[warmup:] == [e["crc"] for e in log["events"]]


def test_engine_failure_stops_the_thread_ends_the_app_and_finalises_the_recording(fake_engine, decode, tmp_path):
    app = run_app(fake_engine(fail_at=12), tmp_path, frames=100, fps=200)
    with pytest.raises(RuntimeError, match="fake engine failure"):
        app.run()
    assert not app.runner.alive
    log = json.loads((tmp_path / "play.json").read_text())
    assert log["frames"] == 12  # the prompt frame and 11 steps
    assert len(decode(tmp_path / "play.mp4")) == 12


def test_esc_while_recording_saves_every_frame_and_says_so(fake_engine, decode, tmp_path, capsys):
    press_esc = post_keys({10: [(pygame.KEYDOWN, pygame.K_ESCAPE)]})

    def slow_step(step):  # as a real model step: the app handles Esc while this frame is still being made
        press_esc(step)
        if step == 10:
            time.sleep(0.3)

    app = run_app(fake_engine(on_step=slow_step), tmp_path, frames=None, fps=200)
    app.run()  # the frame finished after Esc is written, not dropped with a traceback
    assert "saved" in capsys.readouterr().out
    log = json.loads((tmp_path / "play.json").read_text())
    assert log["frames"] >= 10 and len(decode(tmp_path / "play.mp4")) == log["frames"]


def test_ctrl_c_finalises_the_recording(fake_engine, decode, tmp_path, monkeypatch):
    app = run_app(fake_engine(), tmp_path, frames=100, fps=200)
    ticks = iter(range(1000))
    real_tick = app._tick

    def tick():
        if next(ticks) == 8:
            raise KeyboardInterrupt
        real_tick()

    monkeypatch.setattr(app, "_tick", tick)
    with pytest.raises(KeyboardInterrupt):
        app.run()
    assert not app.runner.alive
    log = json.loads((tmp_path / "play.json").read_text())
    assert log["frames"] >= 1 and len(decode(tmp_path / "play.mp4")) == log["frames"]


def test_the_window_is_drawn_only_when_what_it_shows_changes(fake_engine, tmp_path, monkeypatch):
    app = run_app(fake_engine(), tmp_path, record=False, frames=6, fps=10)  # ~6 ticks of the loop per frame
    ticks, drawn = [], []
    real_tick = app._tick
    monkeypatch.setattr(app, "_tick", lambda: (ticks.append(1), real_tick()))
    monkeypatch.setattr(pygame.display, "flip", lambda: drawn.append(app.on_screen))
    app.run()
    assert len(drawn) == len(set(drawn)) < len(ticks)  # each draw shows something new
    assert drawn[-1][0] == app.item.serial == 6  # and the last one shows the newest frame


def test_a_driver_that_shows_nothing_is_refused_unless_asked_for(monkeypatch):
    from nanogenie.errors import UserError
    from nanogenie.play.app import check_window_driver

    monkeypatch.delenv("SDL_VIDEODRIVER", raising=False)
    monkeypatch.setenv("DISPLAY", ":99")
    with pytest.raises(UserError, match="--headless"):
        check_window_driver("offscreen")  # what SDL falls back to when DISPLAY points at no X server
    check_window_driver("x11")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    check_window_driver("dummy")  # the tests' own choice


def test_a_click_on_the_frame_prints_its_colour_and_how_to_train_on_it(fake_engine, tmp_path, capsys):
    from nanogenie.play.app import colour_at

    frame = np.zeros((16, 16, 3), np.uint8)
    frame[5, 7] = (170, 255, 90)
    assert colour_at(frame, (7 * 3 + 1, 5 * 3 + 2), scale=3) == (170, 255, 90)
    assert colour_at(frame, (10, 16 * 3 + 5), scale=3) is None  # the HUD below the frame

    def click(step):
        if step == 4:
            pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(10, 16 * 3 + 5), button=1))
        if step == 6:
            pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(4, 4), button=1))

    app = run_app(fake_engine(on_step=click), tmp_path, record=False, frames=12)
    app.run()
    said = [line for line in capsys.readouterr().out.splitlines() if line.startswith("colour at the click")]
    assert len(said) == 1 and '--set "lam.focus=[' in said[0]  # the click on the HUD said nothing
