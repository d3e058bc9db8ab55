"""Held-out lam_nmi and lam_probe_accuracy of a LAM weights file (a bundle's lam.safetensors or a
training checkpoint's model.safetensors), with the table of true action x latent code.

    python docs/lab/scripts/lam_nmi.py runs/sonic runs/sonic/run/checkpoints/lam/step_00000400/model.safetensors

The held-out transitions are what training measures on: for a simulator world, fresh episodes with a
random action every frame; otherwise the run's held-out split.
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch

from nanogenie.config import WorldConfig
from nanogenie.data import load_dataset
from nanogenie.models.lam import LatentActionModel
from nanogenie.training.checkpoint import load_weights_file
from nanogenie.metrics import normalized_mutual_information, probe_accuracy
from nanogenie.eval.held_out import fresh_episodes
from nanogenie.eval.evaluate import held_out_action_pairs


def main(bundle: Path, weights: Path) -> None:
    meta = json.loads((bundle / "world.json").read_text())
    config = WorldConfig.from_dict(meta["config"])
    lam = LatentActionModel(config.lam)
    load_weights_file(lam, weights)
    env = meta.get("data", {}).get("env")
    if env:
        data = fresh_episodes(env, config)
        spans = data.episodes()
    else:
        data = load_dataset(bundle / "run" / "data.h5")
        spans = [tuple(span) for span in json.loads((bundle / "run" / "splits.json").read_text())["test"]]
    with torch.no_grad():
        truth, latent = held_out_action_pairs(lam, data, spans, config, "cpu")
    print(f"{weights}: {len(truth)} held-out transitions, lam_nmi {normalized_mutual_information(truth, latent):.3f}, "
          f"lam_probe_accuracy {probe_accuracy(truth, latent):.3f}")
    table = np.zeros((len(data.action_names), lam.num_actions), int)
    np.add.at(table, (truth, latent), 1)
    for name, row in zip(data.action_names, table):
        print(f"{name:>12} {row}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
