"""The whole journey of a user with their own video, on a tiny config: an mp4 with no actions -> `data
import` -> `train --data` -> play with the proposed keymap -> explore and bind a key -> play with it."""

import json

import av
import numpy as np
import pygame

from nanogenie.cli import main
from nanogenie.envs import rollout
from nanogenie.play.app import AppSettings, PlayApp
from nanogenie.play.engine import Engine
from nanogenie.play.keymap import load_keymap
from nanogenie.play.runner import EngineRunner
from nanogenie.world import load_world


def _write_clip(path, frames: np.ndarray, fps: int = 10) -> None:
    """A stand-in for a user's clip: simulator frames as H.264, the actions thrown away."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2] * 2, frames.shape[1] * 2, "yuv420p"
        for frame in frames:
            image = frame.repeat(2, 0).repeat(2, 1)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


class BindingEngine(Engine):
    """The real engine; at its 3rd frame the player opens the explorer (E), picks code 1, binds Left to it (B,
    Left), saves (S) and goes back to the game (E)."""

    def step(self, action):
        self.steps = getattr(self, "steps", 0) + 1
        if self.steps == 3:
            for k in (pygame.K_e, pygame.K_1, pygame.K_b, pygame.K_LEFT, pygame.K_s, pygame.K_e):
                pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=k, mod=0))
        return super().step(action)


def test_a_video_without_actions_becomes_a_world_played_with_proposed_then_bound_keys(tmp_path, capsys):
    frames, _, _ = rollout("pong", 240, size=32, seed=3)
    clip, data, out = tmp_path / "my_clip.mp4", tmp_path / "my_clip.h5", tmp_path / "my_world"
    _write_clip(clip, frames)

    assert main(["data", "import", str(clip), "--out", str(data), "--size", "16", "--fps", "10"]) == 0
    assert main(["train", "--world", "my_clip", "--data", str(data), "--preset", "tiny", "--out", str(out),
                 "--sequential"]) == 0
    bundle = out
    meta = json.loads((bundle / "world.json").read_text())
    assert meta["keymap_origin"] == "video"  # no true actions: keys read from what each code's frames show moving
    proposed = load_keymap(bundle / "keymap.toml", meta["num_actions"])
    capsys.readouterr()

    assert main(["play", "--world", str(bundle), "--headless", "--frames", "4", "--actions", "0,1,2,3"]) == 0

    world = load_world(bundle)
    engine = BindingEngine(world, device="cpu")
    settings = AppSettings(world=world.name, device="cpu", num_actions=world.num_actions, frame_size=16, scale=3,
                           fps=50, max_frames=8, output_dir=tmp_path, explore=False, print_controls=False,
                           keymap_save_paths=(bundle / "keymap.toml",))
    app = PlayApp(EngineRunner(engine, 50), proposed, settings)
    app.run()
    bound = load_keymap(bundle / "keymap.toml", world.num_actions)
    assert {b.chord: b.action for b in bound.bindings}["left"] == 1
    assert app.keymap.resolve({pygame.K_LEFT}) == (1, "left")

    assert main(["play", "--world", str(bundle), "--headless", "--frames", "4"]) == 0  # plays on with the bound keys
