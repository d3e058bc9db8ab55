import json

import numpy as np
import pygame
import pytest
import torch

from nanogenie.cli import main
from nanogenie.config import preset
from nanogenie.play.app import AppSettings, PlayApp
from nanogenie.play.explorer import Explorer
from nanogenie.play.keymap import load_keymap, parse_keymap
from nanogenie.play.runner import EngineRunner
from world_helpers import save_random_world

KEYMAP = 'idle = 0\n[bindings]\nright = 2\nspace = 3\n'
DOWN = pygame.KEYDOWN


def key(k, mod=0):
    return pygame.event.Event(DOWN, key=k, mod=mod)


def make_app(engine, tmp_path, explore=False, frames=None, save_paths=None):
    settings = AppSettings(world="fake", device="cpu", num_actions=8, frame_size=16, scale=3, fps=50,
                           max_frames=frames, output_dir=tmp_path, explore=explore, print_controls=False,
                           keymap_save_paths=save_paths or (tmp_path / "bundle" / "keymap.toml",))
    return PlayApp(EngineRunner(engine, 50), parse_keymap(KEYMAP, 8), settings)


def test_explorer_binds_a_key_saves_a_loadable_keymap_and_play_goes_on(fake_engine, tmp_path, capsys):
    engine = fake_engine()
    steps_when_opened = []

    def on_step(step):
        if step == 3:  # E opens it (the game pauses), 5 picks code 5, B then Left binds it, S saves, E closes
            steps_when_opened.append(engine.total_steps)
            for event in (key(pygame.K_e), key(pygame.K_5), key(pygame.K_b), key(pygame.K_LEFT),
                          key(pygame.K_TAB), key(pygame.K_n), key(pygame.K_s), key(pygame.K_e)):
                pygame.event.post(event)
    engine.on_step = on_step
    app = make_app(engine, tmp_path, frames=12)
    app.run()
    saved = tmp_path / "bundle" / "keymap.toml"
    assert f"keymap saved to {saved}" in capsys.readouterr().out
    keymap = load_keymap(saved, 8)  # the normal loader reads what the explorer writes
    assert {b.chord: b.action for b in keymap.bindings} == {"right": 2, "space": 3, "left": 5}
    assert keymap.idle == 6  # Tab moved on to code 6, N made it idle
    assert app.keymap.resolve({pygame.K_LEFT}) == (5, "left")  # the game plays the new keymap at once
    assert app.produced >= 12 and not app.runner.paused  # closing the explorer resumed the game



def test_a_keymap_the_explorer_saves_into_a_bundle_is_marked_so_a_proposal_never_replaces_it(tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "world.json").write_text(json.dumps({"name": "w", "keymap_origin": "proposed"}))
    explorer = Explorer(8, parse_keymap(KEYMAP, 8), (bundle / "keymap.toml",))
    assert explorer.save() == bundle / "keymap.toml"
    assert json.loads((bundle / "world.json").read_text())["keymap_origin"] == "explorer"
    elsewhere = Explorer(8, parse_keymap(KEYMAP, 8), (tmp_path / "keymaps" / "w.toml",))
    assert elsewhere.save() == tmp_path / "keymaps" / "w.toml"  # no world.json there: nothing else is written
    assert sorted(p.name for p in (tmp_path / "keymaps").iterdir()) == ["w.toml"]

def test_explorer_shows_every_action_and_a_click_picks_one(fake_engine, tmp_path):
    engine = fake_engine()
    app = make_app(engine, tmp_path, explore=True, save_paths=(tmp_path / "ro" / "x" / "keymap.toml",))
    app._open_window()
    try:
        app.runner.start()
        app._open_explorer()
        for _ in range(600):  # ticks of at most 1/60 s each; the fake explores at once
            app._tick()
            if app.explorer.futures is not None and app.explorer.panels:
                break
        assert app.runner.paused and engine.explored == 1
        assert app.explorer.futures.shape == (8, 4, 16, 16, 3)
        panel = app.explorer.panels[4]
        assert app.window.get_at(panel.center)[0] == 30 * 4  # the panel shows code 4's future (red = 30 a)
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=panel.center, button=1))
        pygame.event.post(key(pygame.K_RETURN))
        pygame.event.post(key(pygame.K_r))  # an app control cannot be bound: said in the HUD, nothing changes
        app._tick()
        assert app.explorer.selected == 4 and "app control" in app.explorer.message
        assert app.keymap == app.explorer.keymap and app.keymap.resolve({pygame.K_r}) == (0, "idle")
        assert "code 4" in app.explorer.hud()[0]
    finally:
        app.runner.stop()
        app.runner.join()
        pygame.display.quit()


@pytest.fixture
def tiny_world(tmp_path):
    torch.manual_seed(0)
    prompt = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    return save_random_world(tmp_path / "tiny", preset("tiny"), prompt)


def test_propose_keys_writes_the_bundle_keymap_then_never_over_a_fitted_one(tiny_world, capsys):
    assert main(["play", "--world", str(tiny_world), "--propose-keys", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "code 3: dx" in out and f"proposed keymap saved to {tiny_world / 'keymap.toml'}" in out
    load_keymap(tiny_world / "keymap.toml", 4)
    assert json.loads((tiny_world / "world.json").read_text())["keymap_origin"] == "proposed"
    fitted = "idle = 1\n[bindings]\nleft = 2\n"
    (tiny_world / "keymap.toml").write_text(fitted)
    meta = json.loads((tiny_world / "world.json").read_text())
    (tiny_world / "world.json").write_text(json.dumps({**meta, "keymap_origin": "fitted"}))
    assert main(["play", "--world", str(tiny_world), "--propose-keys", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert (tiny_world / "keymap.toml").read_text() == fitted
    assert "agrees with" in out and "of 2 keys" in out and "play it with --keymap" in out


def test_a_world_without_a_keymap_plays_a_proposed_one_and_says_so(fake_world, tmp_path, capsys):
    first = tmp_path / "first.mp4"
    assert main(["play", "--world", "fake", "--headless", "--frames", "5", "--record", str(first)]) == 0
    capsys.readouterr()
    assert main(["play", "--replay", str(first.with_suffix(".json")), "--fps", "100"]) == 0  # in the window
    out = capsys.readouterr().out
    assert "world fake has no keymap: proposing one" in out and "keymap <proposed>: " in out
    assert fake_world.engines[-1].explored == 6  # the proposal rolled every code from 6 states


def test_the_hud_frame_rate_never_counts_a_pause(fake_engine, tmp_path):
    app = make_app(fake_engine(), tmp_path)
    app.shown_at.extend([0.0, 0.1, 0.2])
    assert app.shown_fps() == pytest.approx(10.0)
    app._pause(True)  # the explorer or P: a minute may pass before the next frame
    app._pause(False)
    app.shown_at.extend([60.0, 60.1])
    assert app.shown_fps() == pytest.approx(10.0)  # not 4 frames over 60 s


def test_shift_adds_a_code_to_what_a_key_or_idle_already_plays():
    explorer = Explorer(8, parse_keymap(KEYMAP, 8))
    explorer.start()
    explorer.on_key(pygame.K_5, 5)
    explorer.on_key(pygame.K_b, None, shift=True)
    explorer.on_key(pygame.K_RIGHT, None)
    explorer.on_key(pygame.K_n, None, shift=True)
    assert explorer.keymap.resolve_codes({pygame.K_RIGHT}) == ((2, 5), "right")
    assert explorer.keymap.idle_codes == (0, 5) and explorer.message == "nothing held (idle) -> code 0/5; S saves"
    assert explorer.keys_of(5) == "idle, right"
    explorer.on_key(pygame.K_b, None)  # without Shift a key plays the code alone again
    explorer.on_key(pygame.K_RIGHT, None)
    assert explorer.keymap.resolve_codes({pygame.K_RIGHT}) == ((5,), "right") and explorer.edited
