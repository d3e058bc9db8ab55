"""Does a firefly LAM choose its head by the agent or by the sparks? Four lines, in about a minute.

    OMP_NUM_THREADS=1 .venv/bin/python docs/lab/scripts/firefly_heads.py RUN_FOLDER [--frames 3000]

RUN_FOLDER: a `nanogenie train --world firefly --stage lam` run (or a world bundle). Rolls out --frames fresh
firefly frames with a random action every frame (seed 12345), reading the agent's position from the env, and
labels each transition by the argmin over heads of the squared error summed over all cells (what inference
does), over the cells around the agent only (its 2x2 square at x_t and x_t+1, one pixel of margin), and over
the other cells, and by the scores oracle_assign.py also tries (errors capped, errors over the heads' mean,
over all cells or only the cells that tell the heads apart most); then prints the share of the heads' disagreement (squared distance from their mean
prediction) that lies around the agent. Findings: docs/lab/2026-12-03-small-agents.md.
"""
import argparse
import numpy as np, torch
from nanogenie.data.pixels import to_model
from nanogenie.envs.rollout import rollout
from nanogenie.eval.lam_bench import load_lam
from nanogenie.metrics import probe_accuracy, normalized_mutual_information

ap = argparse.ArgumentParser(); ap.add_argument("run"); ap.add_argument("--frames", type=int, default=3000)
args = ap.parse_args()
lam, config = load_lam(args.run); lam.eval()
pos = []
frames, actions, ends = rollout("firefly", args.frames, 64, 12345, policy="random",
                                observe=lambda env: pos.append((env.agent_x, env.agent_y)))
pos = np.asarray(pos)
valid = np.flatnonzero(actions[:-1] >= 0)
valid = valid[valid + 1 < len(frames)]
k, p = lam.cfg.history_frames, lam.cfg.patch_size
full, near, far, share, truth = [], [], [], [], []
extra = {}
with torch.no_grad():
    for chunk in np.array_split(valid, max(1, len(valid) // 256)):
        hist = torch.stack([to_model(frames[max(0, i - k + 1):i + 1]) if i - k + 1 >= 0 else to_model(np.concatenate([frames[:1]] * (k - 1 - i) + [frames[:i + 1]])) for i in chunk])
        target = to_model(frames[chunk + 1])
        passive, pred = lam._predict(hist)
        tgt = lam._aligned(target.float(), passive.float())[:, None]
        err = (pred - tgt).pow(2).sum(2)  # (N, A, R, R)
        R = err.shape[-1]
        mask = torch.zeros(len(chunk), R, R, dtype=torch.bool)
        for j, i in enumerate(chunk):
            for (x, y) in (pos[i], pos[i + 1]):
                for yy in range(int(y) - 1, int(y) + 3):
                    for xx in range(int(x) - 1, int(x) + 3):
                        if 0 <= yy < 64 and 0 <= xx < 64:
                            mask[j, yy // p, xx // p] = True
        m = mask[:, None].float()
        full.append(err.flatten(2).sum(2).argmin(1)); near.append((err * m).flatten(2).sum(2).argmin(1))
        far.append((err * (1 - m)).flatten(2).sum(2).argmin(1))
        ratio = (err + 1e-3) / (err.mean(1, keepdim=True) + 1e-3)  # each cell's error over the heads' mean error there
        extra.setdefault("ratio, all cells", []).append(ratio.flatten(2).mean(2).argmin(1))
        extra.setdefault("ratio, agent cells only", []).append((ratio * m + (1 - m)).flatten(2).mean(2).argmin(1))
        for cap in (0.002, 0.005, 0.02):  # a cell's error counts up to `cap`: one no head explains gives each the same
            extra.setdefault(f"error capped at {cap:g}", []).append(err.clamp(max=cap).flatten(2).sum(2).argmin(1))
        spread = (ratio.max(1).values - ratio.min(1).values).flatten(1)  # (N, R R): how much a cell tells heads apart
        for top in (4, 16):
            keep = torch.zeros_like(spread).scatter_(1, spread.topk(top, dim=1).indices, 1.0)[:, None]
            extra.setdefault(f"ratio, the {top} cells that tell heads apart most", []).append(
                (ratio.flatten(2) * keep).sum(2).argmin(1))
            hit = (keep[:, 0] * mask.flatten(1).float()).sum(1) / top
            extra.setdefault(f"share of those {top} cells at the agent", []).append(hit)
        dis = (pred - pred.mean(1, keepdim=True)).pow(2).sum((1, 2))  # (N, R, R)
        share.append(((dis * mask).flatten(1).sum(1) / dis.flatten(1).sum(1).clamp_min(1e-12)))
        truth.append(actions[chunk])
truth = np.concatenate(truth)
for name, c in extra.items():
    c = torch.cat(c).numpy()
    if name.startswith("share"):
        print(f"{name}: {c.mean():.3f}")
    else:
        print(f"{name:28s} probe {probe_accuracy(truth, c):.3f}  NMI {normalized_mutual_information(truth, c):.3f}")
for name, c in (("argmin, all cells", full), ("argmin, agent cells only", near), ("argmin, other cells", far)):
    c = torch.cat(c).numpy()
    print(f"{name:28s} probe {probe_accuracy(truth, c):.3f}  NMI {normalized_mutual_information(truth, c):.3f}")
print(f"heads' disagreement around the agent: {torch.cat(share).mean():.3f} of it (agent cells ~{mask.float().mean():.3f} of the frame)")
