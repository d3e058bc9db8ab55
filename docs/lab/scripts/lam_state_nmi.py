"""What a LAM's codes on sonic follow: their NMI with the controls and with the simulator's own state,
on episodes with a fresh random action every frame (a seed training never used).

    python docs/lab/scripts/lam_state_nmi.py sonic
    python docs/lab/scripts/lam_state_nmi.py runs/exp/NAME/run runs/exp/NAME/run/checkpoints/lam/step_00001000/model.safetensors

The first argument is a bundle (its world.json and lam.safetensors) or a run directory (its config.json,
with the weights file given). Each row is one quantity of a transition x_t -> x_t+1: how far the camera
scrolled, how far the hero moved on screen, its pose after, whether it turned, whether it was on the
ground, its speed before. The second column says how much the controls themselves decide it, so a code
that follows a quantity the controls barely touch (the scroll) is carrying something else.
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch

from nanogenie.config import WorldConfig
from nanogenie.data.pixels import to_model
from nanogenie.envs.registry import make_env
from nanogenie.metrics import normalized_mutual_information
from nanogenie.models.lam import LatentActionModel
from nanogenie.training.checkpoint import load_weights_file

POSES = ["stand", "run", "jump", "ball", "ball_spun"]


def load_lam(source: Path, weights: Path | None) -> LatentActionModel:
    bundle = (source / "world.json").exists()
    meta = json.loads((source / ("world.json" if bundle else "config.json")).read_text())
    lam = LatentActionModel(WorldConfig.from_dict(meta["config"]).lam)
    load_weights_file(lam, weights or source / "lam.safetensors")
    return lam.eval()


def random_play(transitions: int, seed: int = 1_000_003):
    """Frames of sonic episodes played with a fresh random action every frame, and per transition
    (episode, t, action, state before, state after); t indexes the episode's frames."""
    env, rng = make_env("sonic", 64), np.random.default_rng(seed)

    def state():
        return {"camera": env.px(env.camera), "hero_x": env.px(env.x) - env.px(env.camera), "hero_y": env.px(env.y),
                "pose": POSES.index(env._pose()), "facing": env.facing, "ground": int(env.on_ground),
                "vx": int(np.clip(np.round(env.vx), -4, 4))}

    episodes, rows = [], []
    while len(rows) < transitions:
        frames = [env.reset(int(rng.integers(2**31)))]
        while not env.done and len(rows) < transitions:
            before, action = state(), int(rng.integers(env.num_actions))
            frames.append(env.step(action))
            rows.append((len(episodes), len(frames) - 2, action, before, state()))
        episodes.append(np.stack(frames))
    return episodes, rows


def main(source: Path, weights: Path | None) -> None:
    lam = load_lam(source, weights)
    episodes, rows = random_play(4000)
    codes, actions, quantities = [], [], {name: [] for name in
                                          ("scroll", "hero_dx", "hero_dy", "pose_after", "turned", "on_ground", "speed")}
    for episode, t, action, before, after in rows:
        if t < lam.cfg.history_frames - 1:
            continue  # the transition's whole history must lie in the episode
        clip = to_model(episodes[episode][t + 1 - lam.cfg.history_frames: t + 2])[None]  # history, x_t+1
        with torch.no_grad():
            codes.append(int(lam.infer_actions(clip)[0, -1]))
        actions.append(action)
        quantities["scroll"].append(after["camera"] - before["camera"])
        quantities["hero_dx"].append(np.clip(after["hero_x"] - before["hero_x"], -3, 3))
        quantities["hero_dy"].append(np.clip(after["hero_y"] - before["hero_y"], -3, 3))
        quantities["pose_after"].append(after["pose"])
        quantities["turned"].append(int(after["facing"] != before["facing"]))
        quantities["on_ground"].append(before["ground"])
        quantities["speed"].append(before["vx"])
    codes, actions = np.array(codes), np.array(actions)
    scroll = np.array([after["camera"] - before["camera"] for *_, before, after in rows])
    same_episode = np.array([a[0] == b[0] for a, b in zip(rows, rows[1:])])
    repeat = (scroll[1:] == scroll[:-1])[same_episode]
    close = (np.abs(scroll[1:] - scroll[:-1]) <= 1)[same_episode]
    print(f"the camera's scroll equals the previous frame's {repeat.mean():.0%} of the time, within a pixel {close.mean():.0%}")
    print(f"{len(codes)} transitions; NMI of the codes with the controls: {normalized_mutual_information(actions, codes):.3f}")
    print(f"{'quantity':>12}  NMI with codes  NMI with controls")
    for name, values in quantities.items():
        values = np.array(values)
        print(f"{name:>12}  {normalized_mutual_information(values, codes):14.3f}  "
              f"{normalized_mutual_information(values, actions):17.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None)
