"""Do a LAM's codes name the key, or the key relative to the one before? On a file with a fresh random action every
frame, the previous action says nothing about the present one, so a code that names the present key should carry no
information about the previous key once the present key is known.

    OMP_NUM_THREADS=1 .venv/bin/python docs/lab/scripts/code_relativity.py RANDOM.h5 LAM...

Each LAM is a run folder or a world bundle (eval/lam_bench.py `load_lam`). Prints the probe and NMI, and
`relativity`: the mutual information between the code and the previous action given the present action,
I(code; previous | present), over the code's entropy given the present action, H(code | present). 0: the codes
that come with a key do not depend on the key before; 1: they are the key before. For a key with momentum (a hero
that keeps running) some of it is the game's; for pong's paddle, which moves a fixed step, none is. Then, per
present action, which codes it takes after each previous action. `each key on its most frequent code` is the share
of a key's transitions that carry the one code a keymap would bind it to.
Findings: docs/lab/2026-12-07-dynamics-judge.md.
"""
import sys

import numpy as np
import torch

from nanogenie.data import load_dataset
from nanogenie.eval.lam_bench import load_lam
from nanogenie.metrics import normalized_mutual_information, probe_accuracy
from nanogenie.training.stages import label_transitions, sequences


def entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def conditional_information(code: np.ndarray, previous: np.ndarray, present: np.ndarray) -> tuple[float, float]:
    """(I(code; previous | present), H(code | present)) in nats."""
    information, uncertainty = 0.0, 0.0
    for a in np.unique(present):
        m = present == a
        weight = m.mean()
        joint = np.zeros((code.max() + 1, previous.max() + 1))
        np.add.at(joint, (code[m], previous[m]), 1)
        h_code = entropy(joint.sum(axis=1))
        h_code_given_previous = sum(joint[:, p].sum() / m.sum() * entropy(joint[:, p])
                                    for p in range(joint.shape[1]) if joint[:, p].sum() > 0)
        information += weight * (h_code - h_code_given_previous)
        uncertainty += weight * h_code
    return information, uncertainty


def main() -> None:
    data = load_dataset(sys.argv[1])
    names = data.action_names
    actions = np.asarray(data.actions)
    spans = list(data.episodes())
    seqs = sequences(spans, 1, 2)
    for path in sys.argv[2:]:
        lam, _ = load_lam(path)
        lam.eval()
        codes = torch.cat(label_transitions(lam, data, seqs, "cpu", False)).numpy()
        starts = np.concatenate([s[:-1] for s in seqs])
        present, previous = actions[starts], actions[np.maximum(starts - 1, 0)]
        first = np.isin(starts, [start for start, _ in spans])  # no previous action in the episode
        keep = (present >= 0) & (previous >= 0) & ~first
        code, present, previous = codes[keep], present[keep], previous[keep]
        information, uncertainty = conditional_information(code, previous, present)
        top = [np.bincount(code[present == a]).max() / (present == a).sum() for a in np.unique(present)]
        print(f"{path}: {keep.sum()} transitions, probe {probe_accuracy(present, code):.3f}, "
              f"NMI {normalized_mutual_information(present, code):.3f}, relativity {information / uncertainty:.3f} "
              f"({information:.3f} of {uncertainty:.3f} nats), each key on its most frequent code "
              f"{' / '.join(f'{t:.2f}' for t in top)}")
        for a in np.unique(present):
            rows = []
            for p in np.unique(previous):
                m = (present == a) & (previous == p)
                shares = np.bincount(code[m], minlength=lam.num_actions) / max(m.sum(), 1)
                most = np.argsort(-shares)[:3]
                rows.append(f"after {names[p]}: " + ", ".join(f"{c} {shares[c]:.2f}" for c in most))
            print(f"  {names[a]:12s} " + " | ".join(rows))


if __name__ == "__main__":
    main()
