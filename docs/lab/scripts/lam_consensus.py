"""Several LAM trainings of one video, each a partition of its transitions into codes: is their consensus a better
partition than any one of them?

    python docs/lab/scripts/lam_consensus.py RUN [RUN ...] --data TRAIN.h5 --held-out RANDOM.h5 [--by heads|inverse]
        [--classes 8] [--steps 700 [--seed S]]

Each RUN is a LAM run folder trained on TRAIN.h5 (`nanogenie train --stage lam --data TRAIN.h5 --set train.seed=S`).
Every run names the transitions of TRAIN.h5 and of RANDOM.h5 (fresh random action every frame) by its heads or by its
inverse model (--by). The consensus is a mixture of categoricals over the runs' codes (a latent class model, fitted
by EM on the training transitions' code tuples): a consensus class says, for each run, which of its codes its
transitions take. A held-out transition gets the class its tuple of codes is most likely under.

Printed, one JSON line each: every run's probe and NMI on RANDOM.h5; the consensus of the first k runs, k = 2..K,
read directly from the runs' held-out codes; and with --steps, the product's second phase on the consensus: the
inverse model (models/inverse.py) trained on the consensus classes of TRAIN.h5 for that many steps, scored on
RANDOM.h5, beside the same model trained on the first run's codes alone. Findings:
docs/lab/2026-12-06-lam-consensus.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from self_label import lam_codes, train_on_codes  # noqa: E402

from nanogenie.data import load_dataset  # noqa: E402
from nanogenie.eval.lam_bench import load_lam, transitions  # noqa: E402
from nanogenie.metrics import normalized_mutual_information, probe_accuracy  # noqa: E402


def fit_latent_classes(tuples: np.ndarray, counts: np.ndarray, classes: int, codes: int, seed: int,
                       iterations: int = 200, prior: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """tuples (U, K) distinct code tuples, counts (U,) how often each occurs -> (log pi (C,), log theta (C, K, codes)),
    the mixture's weights and each class's distribution over every run's codes, by EM from a random soft start."""
    rng = np.random.default_rng(seed)
    u, k = tuples.shape
    resp = rng.dirichlet(np.ones(classes), size=u)  # (U, C)
    for _ in range(iterations):
        weighted = resp * counts[:, None]  # (U, C)
        pi = weighted.sum(0) + prior
        theta = np.full((classes, k, codes), prior)
        for run in range(k):
            np.add.at(theta[:, run, :].T, tuples[:, run], weighted)  # theta[c, run, code] += weight
        log_pi = np.log(pi / pi.sum())
        log_theta = np.log(theta / theta.sum(axis=2, keepdims=True))
        resp = np.exp(log_posterior(tuples, log_pi, log_theta))
    return log_pi, log_theta


def log_joint(tuples: np.ndarray, log_pi: np.ndarray, log_theta: np.ndarray) -> np.ndarray:
    """(U, K) tuples -> (U, C) log P(class, tuple)."""
    return log_pi[None] + sum(log_theta[:, run, tuples[:, run]].T for run in range(tuples.shape[1]))


def log_posterior(tuples: np.ndarray, log_pi: np.ndarray, log_theta: np.ndarray) -> np.ndarray:
    """(U, K) tuples -> (U, C) log P(class | tuple)."""
    joint = log_joint(tuples, log_pi, log_theta)
    return joint - np.logaddexp.reduce(joint, axis=1, keepdims=True)


def log_likelihood(tuples, counts, log_pi, log_theta) -> float:
    """The training tuples' log-likelihood under a fit, each counted as often as it occurs."""
    return float((np.logaddexp.reduce(log_joint(tuples, log_pi, log_theta), axis=1) * counts).sum())


def consensus(train_codes: np.ndarray, held_codes: np.ndarray, classes: int, codes: int, restarts: int = 5
              ) -> tuple[np.ndarray, np.ndarray]:
    """train_codes (N, K), held_codes (M, K) -> each transition's consensus class (N,), (M,): the best of `restarts`
    EM fits by likelihood on the training tuples."""
    tuples, inverse, counts = np.unique(train_codes, axis=0, return_inverse=True, return_counts=True)
    best = max((fit_latent_classes(tuples, counts, classes, codes, seed) for seed in range(restarts)),
               key=lambda fit: log_likelihood(tuples, counts, *fit))
    return (log_posterior(tuples, *best).argmax(1)[inverse.reshape(-1)],
            log_posterior(held_codes, *best).argmax(1))


def figures(truth: np.ndarray, codes: np.ndarray) -> dict:
    shares = np.bincount(codes) / len(codes)
    return {"probe": round(probe_accuracy(truth, codes), 4), "nmi": round(normalized_mutual_information(truth, codes), 4),
            "codes_5pct": int((shares >= 0.05).sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--data", required=True)
    parser.add_argument("--held-out", required=True)
    parser.add_argument("--by", choices=["heads", "inverse"], default="inverse")
    parser.add_argument("--classes", type=int, default=8)
    parser.add_argument("--steps", type=int, default=0, help="> 0: train the inverse model on the consensus")
    parser.add_argument("--seed", type=int, default=0, help="the inverse model's initial weights and batches")
    args = parser.parse_args()
    if len(args.runs) < 2:
        parser.error("a consensus needs at least two runs")
    torch.set_num_threads(1)
    train, held = load_dataset(args.data), load_dataset(args.held_out)
    train_index, held_index = transitions(train), transitions(held)
    truth = held.actions[held_index].astype(np.int64)
    train_cols, held_cols = [], []
    for run in args.runs:
        lam, config = load_lam(run)
        if args.by == "heads" and lam.cfg.inverse:
            lam.inverse_trained.fill_(False)
        train_cols.append(lam_codes(lam, train, config, 0.0, 1)[train_index].astype(np.int64))
        held_cols.append(lam_codes(lam, held, config, 0.0, 1)[held_index].astype(np.int64))
        print(json.dumps({"run": run, "by": args.by, **figures(truth, held_cols[-1])}), flush=True)
    codes = lam.num_actions
    train_codes, held_codes = np.stack(train_cols, 1), np.stack(held_cols, 1)
    for k in range(2, len(args.runs) + 1):
        train_classes, held_classes = consensus(train_codes[:, :k], held_codes[:, :k], args.classes, codes)
        print(json.dumps({"consensus_of": k, **figures(truth, held_classes)}), flush=True)
    if args.steps:
        for name, labels in (("first run", train_codes[:, 0]), (f"consensus of {len(args.runs)}", train_classes)):
            pseudo_actions = np.full(len(train), -1, np.int16)
            pseudo_actions[train_index] = labels
            pseudo = dataclasses.replace(train, actions=pseudo_actions)
            for model, step, minutes, predicted in train_on_codes(pseudo, held, held_index, max(codes, args.classes),
                                                                  0.0, args.seed, args.steps):
                pass
            print(json.dumps({"inverse_model_on": name, "steps": step, "minutes": round(minutes, 2),
                              **figures(truth, predicted)}), flush=True)


if __name__ == "__main__":
    main()
