"""What do a firefly LAM's codes follow: the agent's action, one spark's move, or all the sparks' together?

    OMP_NUM_THREADS=1 .venv/bin/python docs/lab/scripts/firefly_spark_codes.py RUN_FOLDER [--frames 3000]

Rolls out --frames fresh firefly frames with a random action every frame (seed 12345), reading the agent's
action and every spark's drawn position from the env, labels each transition with the LAM, and prints the
NMI and probe accuracy (codes -> variable, majority per code) of the codes against: the agent's action; each
spark's drawn move (the signs of its dx and dy, 9 classes; a respawn's jump left out); the signs of the
sparks' summed dx and summed dy (9 classes); and the move of the spark that moved most in that frame.
Findings: docs/lab/2026-12-03-seeds-and-six-levers.md.
"""
import argparse
import numpy as np, torch
from nanogenie.data.pixels import to_model
from nanogenie.envs.rollout import rollout
from nanogenie.eval.lam_bench import load_lam
from nanogenie.metrics import probe_accuracy, normalized_mutual_information

ap = argparse.ArgumentParser(); ap.add_argument("run"); ap.add_argument("--frames", type=int, default=3000)
args = ap.parse_args()
lam, _ = load_lam(args.run); lam.eval()
sparks = []
frames, actions, _ = rollout("firefly", args.frames, 64, 12345, policy="random",
                             observe=lambda env: sparks.append([(env.px(x), env.px(y)) for x, y in env.pos.tolist()]))
k = lam.cfg.history_frames
valid = np.flatnonzero(actions[:-1] >= 0)  # an episode's last frame has action -1: no transition crosses episodes
valid = valid[valid >= k - 1]
codes = []
with torch.no_grad():
    for chunk in np.array_split(valid, max(1, len(valid) // 256)):
        history = torch.stack([to_model(frames[j - k + 1:j + 1]) for j in chunk])
        codes.append(lam._errors(history, to_model(frames[chunk + 1])).argmin(dim=1).numpy())
codes = np.concatenate(codes)


def move_class(dx, dy):
    return ((np.sign(dx) + 1) * 3 + (np.sign(dy) + 1)).astype(int)


moves = [np.asarray(sparks[i + 1], float) - np.asarray(sparks[i], float) for i in valid]  # per transition (S, 2)
rows = [("agent's action", actions[valid])]
for s in range(min(len(m) for m in moves)):
    keep = np.array([np.abs(m[s]).max() <= 3 for m in moves])  # a respawn jumps across the screen
    rows.append((f"spark {s}'s move", np.where(keep, [move_class(*m[s]) for m in moves], -1)))
total = np.array([np.where(np.abs(m).max(1, keepdims=True) <= 3, m, 0).sum(0) for m in moves])
rows.append(("sparks' summed move", move_class(total[:, 0], total[:, 1])))
largest = [m[np.abs(m).sum(1).argmax()] for m in moves]
rows.append(("the spark that moved most", np.array([move_class(*m) for m in largest])))
print(f"{args.run}: {len(codes)} transitions, code shares {np.bincount(codes, minlength=lam.num_actions) / len(codes)}")
for name, truth in rows:
    ok = truth >= 0
    chance = np.bincount(truth[ok]).max() / ok.sum()
    print(f"  {name:28s} NMI {normalized_mutual_information(truth[ok], codes[ok]):.3f}  "
          f"probe {probe_accuracy(truth[ok], codes[ok]):.3f} (majority class {chance:.3f})")
