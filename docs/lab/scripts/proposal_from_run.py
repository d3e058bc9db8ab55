"""Keys proposed from a video by a LAM run's codes, against the true actions: do the arrows the proposal binds go
to the codes that stand for them? The proposal reads frames and codes only (as training does for a video
without actions), near the run's `lam.focus` colour when it has one; the file's true actions only score it.

    python docs/lab/scripts/proposal_from_run.py RUN HELD_OUT.h5 [--transitions 2000]

RUN: a `--stage lam` run folder or a world (then, as training does, a code whose rollouts are like a key's joins it). Prints each code's share, the true action it most often labels and
how often, its proposed key, and how many bound arrows name their own action.
"""
import argparse
from pathlib import Path

import numpy as np

from nanogenie.data.hdf5 import load_dataset
from nanogenie.eval.evaluate import held_out_action_pairs
from nanogenie.eval.lam_bench import labelled, load_lam
from nanogenie.play.engine import Engine
from nanogenie.play.propose import owning_keys, propose_from_video
from nanogenie.world import load_world
from nanogenie.training.stages import sequences

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("run")
parser.add_argument("held_out")
parser.add_argument("--transitions", type=int, default=2000)
args = parser.parse_args()

lam, config = load_lam(args.run)
data = labelled(load_dataset(args.held_out), args.held_out)
spans = data.episodes()
truth, latent = held_out_action_pairs(lam, data, spans, config, "cpu")
index = np.concatenate([seq[:-1] for seq in sequences(spans, config.train.frame_skip, 2)])
index = index[data.actions[index] >= 0]  # as held_out_action_pairs keeps them
keep = np.sort(np.random.default_rng(0).choice(len(index), min(args.transitions, len(index)), replace=False))
proposal = propose_from_video(data.frames[index[keep]], data.frames[index[keep] + 1], latent[keep], lam.num_actions,
                              config.lam.focus)
if (Path(args.run) / "dynamics.safetensors").is_file():  # a world: codes that roll like a key's join it, as training
    proposal = owning_keys(proposal, Engine(load_world(args.run), "cpu", seed=config.train.seed))
keymap = proposal.keymap()
key_of = {code: b.chord for b in keymap.bindings for code in b.codes}  # every code a key owns
key_of |= {code: "idle" for code in keymap.idle_codes if code not in key_of}
print("\n".join(proposal.report()))
names = list(data.action_names)
right = bound = 0
for code in range(lam.num_actions):
    mine = truth[latent == code]
    key = key_of.get(code, "-")
    if len(mine) == 0:
        print(f"code {code}: never chosen   key {key}")
        continue
    counts = np.bincount(mine, minlength=len(names))
    top = int(counts.argmax())
    print(f"code {code}: {len(mine) / len(latent):5.1%} of transitions, {counts[top] / len(mine):4.0%} {names[top]:<6} "
          f"key {key}")
    if key in ("left", "right", "up", "down"):
        bound += 1
        right += names[top] == key
print(f"{right} of {bound} bound arrows name the true action their code most often labels")
