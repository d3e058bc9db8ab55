"""Does a proposed keymap bind each key to the code that means it? For a world trained without actions
(e.g. from a video), label a held-out file that has true actions with the world's LAM, name each code by
the true action it most often labels, and set that beside the key the proposal gave the code.

    python docs/lab/scripts/proposal_truth.py WORLD HELD_OUT.h5 [KEYMAP.toml]

KEYMAP defaults to the world's own keymap.toml. Prints one line per code (its share of the held-out
transitions, the true action it most often labels and how often, its proposed key) and how many
arrow keys name their own action.
"""
import sys
from pathlib import Path

import numpy as np

from nanogenie.data.hdf5 import load_dataset
from nanogenie.eval.evaluate import held_out_action_pairs
from nanogenie.eval.lam_bench import labelled, load_lam
from nanogenie.play.keymap import load_keymap

world, held_out = sys.argv[1], sys.argv[2]
lam, config = load_lam(world)
data = labelled(load_dataset(held_out), held_out)
truth, latent = held_out_action_pairs(lam, data, data.episodes(), config, "cpu")
names = list(data.action_names)
keymap = load_keymap(Path(sys.argv[3] if len(sys.argv) > 3 else Path(world) / "keymap.toml"), lam.num_actions)
key_of = {b.action: b.chord for b in keymap.bindings}
key_of.setdefault(keymap.idle, "idle")
right = bound = 0
for code in range(lam.num_actions):
    mine = truth[latent == code]
    if len(mine) == 0:
        print(f"code {code}: never chosen   key {key_of.get(code, '-')}")
        continue
    counts = np.bincount(mine, minlength=len(names))
    top = int(counts.argmax())
    key = key_of.get(code, "-")
    print(f"code {code}: {len(mine) / len(latent):5.1%} of transitions, {counts[top] / len(mine):4.0%} {names[top]:<6} key {key}")
    if key in ("left", "right", "up", "down"):
        bound += 1
        right += names[top] == key
print(f"{right} of {bound} bound arrows name the true action their code most often labels")
