"""A run folder that continues a shipped world's dynamics: its tokenizer, LAM and dynamics, the training data and
token cache of an earlier run of the same recipe on that tokenizer and LAM, and a checkpoint of the shipped dynamics
at its last step with a fresh AdamW state, so that `nanogenie train --stage dynamics --resume --set
train.dynamics.steps=N` trains it on. Two folders made alike, one of them trained with a lever, compare the lever alone.

    .venv/bin/python docs/lab/scripts/finetune_folder.py OUT --world nanogenie/worlds/sonic --data-from runs/lab/sp/run

The data file is linked, not copied: the token cache names its data file by resolved path and modification time, so
a link keeps the cache valid where a copy makes the first training encode 120,000 frames again (the cache is also
keyed by the LAM's config fields, so one written by a package with other fields is computed afresh). The data run's config
is copied with the dynamics fields this package does not know dropped (a patched run's). Findings:
docs/lab/2026-12-05-self-context-and-paint.md.
"""
import argparse
import json
import shutil
from dataclasses import fields
from pathlib import Path

import torch

from nanogenie.config import DynamicsConfig, WorldConfig
from nanogenie.models.dynamics import DynamicsModel
from nanogenie.training.checkpoint import load_weights_file
from nanogenie.training.loop import make_optimizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--world", type=Path, required=True, help="the bundle whose dynamics is trained on")
    parser.add_argument("--data-from", type=Path, required=True, help="a run folder of the same recipe (data.h5)")
    args = parser.parse_args()
    run = args.out / "run"
    run.mkdir(parents=True)
    (run / "data.h5").symlink_to((args.data_from / "data.h5").resolve())
    for name in ["splits.json", "dynamics_inputs.npz"]:
        if (args.data_from / name).is_file():
            shutil.copy2(args.data_from / name, run / name)
    for name in ["tokenizer", "lam"]:
        shutil.copy(args.world / f"{name}.safetensors", run / f"{name}.safetensors")
    recorded = json.loads((args.data_from / "config.json").read_text())
    known = {f.name for f in fields(DynamicsConfig)}
    recorded["config"]["dynamics"] = {k: v for k, v in recorded["config"]["dynamics"].items() if k in known}
    # the checkpoint's step is where the world's dynamics ended, whatever length the data run trained for
    step = json.loads((args.world / "world.json").read_text())["config"]["train"]["dynamics"]["steps"]
    recorded["config"]["train"]["dynamics"]["steps"] = step
    (run / "config.json").write_text(json.dumps(recorded, indent=2))
    config = WorldConfig.from_dict(recorded["config"])
    dynamics = DynamicsModel(config.dynamics)
    load_weights_file(dynamics, args.world / "dynamics.safetensors")  # fails here if the config does not fit the weights
    checkpoint = run / "checkpoints" / "dynamics" / f"step_{step:08d}"
    checkpoint.mkdir(parents=True)
    shutil.copy(args.world / "dynamics.safetensors", checkpoint / "model.safetensors")
    torch.save(make_optimizer(dynamics, config.train.dynamics, "cpu").state_dict(), checkpoint / "optimizer.pt")
    (checkpoint / "state.json").write_text(json.dumps({"stage": "dynamics", "step": step, "elapsed": 0.0}))
    rows = [line for line in (args.data_from / "log.jsonl").read_text().splitlines()
            if line and json.loads(line).get("stage") != "dynamics"]
    (run / "log.jsonl").write_text("".join(row + "\n" for row in rows))
    print(f"{run}: {args.world.name}'s dynamics at step {step}; train on with --stage dynamics --resume")


if __name__ == "__main__":
    main()
