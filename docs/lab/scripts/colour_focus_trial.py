"""Could training find the player's colour itself? For a data file: its sprite-sized colours (how much of the frame
each covers, in how many frames it appears and moves), then for each colour given, the cpu preset's LAM heads trained
a few hundred steps focused on it (`lam.focus`), scored on held-out clips of the same file by how much of the focused
cells' change the past cannot predict that the best code explains, and, for reference only, by the heads' probe on a
random-action file.

    python docs/lab/scripts/colour_focus_trial.py DATA.h5 --colours
    python docs/lab/scripts/colour_focus_trial.py DATA.h5 RANDOM.h5 STEPS R,G,B [R,G,B ...] [none]
"""
import dataclasses
import sys
import time

import h5py
import numpy as np
import torch

from nanogenie.config import preset
from nanogenie.data.hdf5 import load_dataset
from nanogenie.data.pixels import to_model
from nanogenie.metrics import probe_accuracy
from nanogenie.models.lam import LatentActionModel


def colour_table(path: str, count: int = 2000) -> None:
    with h5py.File(path) as f:
        pick = np.sort(np.random.default_rng(0).choice(len(f["frames"]) - 1, count, replace=False))
        now, after = f["frames"][pick], f["frames"][pick + 1]
    key = lambda x: ((x.astype(np.int32) >> 3) * [1024, 32, 1]).sum(-1)  # colours to 32 levels a channel
    k_now, k_after = key(now), key(after)
    values, counts = np.unique(k_now, return_counts=True)
    for k, c in sorted(zip(values, counts), key=lambda kc: -kc[1]):
        here, there = k_now == k, k_after == k
        changed = (here ^ there).reshape(count, -1).sum(1)
        print(f"  {tuple(int(v) for v in now[here][:50].mean(0))} area {c / here.size:.4f} "
              f"present {here.reshape(count, -1).any(1).mean():.2f} moving {(changed > 0).mean():.2f}")


def starts(data, frames: int = 3) -> np.ndarray:
    return np.concatenate([np.arange(s, e - frames + 1) for s, e in data.episodes()])


def clips(data, first: np.ndarray) -> torch.Tensor:
    return to_model(np.stack([data.frames[i:i + 3] for i in first]))


def codes_of(lam: LatentActionModel, c: torch.Tensor) -> torch.Tensor:
    """The heads' code of each 3-frame clip's second transition (the one whose two-frame history is inside it)."""
    return torch.cat([lam.head_actions(part)[:, 1] for part in c.split(256)])


def focused_heads(data, train: np.ndarray, spec: str, steps: int, rng: np.random.Generator) -> LatentActionModel:
    """The cpu preset's heads trained `steps` steps on clips starting at `train` (batches drawn by `rng`, given fresh
    for each colour so that every colour sees the same), focused on `spec` ("R,G,B" or "none"), in eval mode."""
    torch.manual_seed(0)
    focus = [] if spec == "none" else [int(c) for c in spec.split(",")]
    lam = LatentActionModel(dataclasses.replace(preset("cpu").lam, focus=focus, inverse=False))
    optimizer = torch.optim.AdamW(lam.parameters(), lr=2e-3, weight_decay=0.0)
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = 2e-3 * min(1, (step + 1) / 100)
        lam.train()
        loss, _ = lam.training_loss(clips(data, rng.choice(train, 32)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return lam.eval()


def trial(data_path: str, random_path: str, steps: int, specs: list[str]) -> None:
    data, rnd = load_dataset(data_path), load_dataset(random_path)
    first = starts(data)
    cut = int(len(first) * 0.9)
    train, val = first[:cut], clips(data, np.random.default_rng(0).choice(first[cut + 10:], 512, replace=False))
    random_first = np.random.default_rng(1).choice(starts(rnd), 2000, replace=False)
    random_clips, truth = clips(rnd, random_first), rnd.actions[random_first + 1]
    for spec in specs:
        began = time.time()
        lam = focused_heads(data, train, spec, steps, np.random.default_rng(2))
        with torch.no_grad():
            history, target = lam._histories(val)
            scored = lam._scored(history[:, 1], target[:, 1])
            best, passive = scored["errors"].min(1).values.mean().item(), scored["passive"].mean().item()
            codes = codes_of(lam, random_clips).numpy()
        print(f"{spec:>14} passive {passive * 1e3:.3f} best {best * 1e3:.3f} explained {1 - best / passive:.3f} "
              f"probe {probe_accuracy(truth, codes):.3f} ({time.time() - began:.0f} s)", flush=True)


if __name__ == "__main__":
    torch.set_num_threads(1)
    if sys.argv[2] == "--colours":
        colour_table(sys.argv[1])
    else:
        trial(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:])
