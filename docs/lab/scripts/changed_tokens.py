"""How well does a sonic dynamics predict the tokens that change? One JSON line, in well under a minute.

    OMP_NUM_THREADS=1 .venv/bin/python docs/lab/scripts/changed_tokens.py RUN_FOLDER [--clips 32] [--step N]
    OMP_NUM_THREADS=1 .venv/bin/python docs/lab/scripts/changed_tokens.py nanogenie/worlds/sonic   # a bundle

RUN_FOLDER: the --out of `nanogenie train --recipe sonic --stage dynamics` (run/config.json, the tokenizer
and LAM weights, dynamics checkpoints; a run in progress is fine), or a world bundle (world.json and its
three .safetensors). Dynamics weights: --step N's checkpoint, else run/dynamics.safetensors, else the
latest checkpoint. The tokenizer and LAM: run/<stage>.safetensors, else their latest checkpoint.

Held-out data: fresh simulator episodes with a random action every frame (eval/held_out.py), cut into
--clips clips of --frames (16) consecutive frames, evenly spaced over the episodes (training/stages.py
`held_out_clips`, as validation picks its clips). Tokens from the tokenizer, latent actions from the LAM
(`infer_actions` on the clip, frames in [-1, 1]). The last frame of each clip is fully masked (every token
the mask id, `dynamics.mask_id` = vocab_size) behind its clean history with the clip's actions, and
`dynamics.forward` gives its logits in one pass (log-probabilities with output "channels"): the play
case, which is what clean_context training trains (models/dynamics.py). The argmax is scored against
the true tokens, over the tokens that changed from the frame before and over those that did not.
As a check, the same logits are recomputed the way play does (KV cache: `commit_frame` x T-1, then
`frame_logits`), and `cache_argmax_agreement` says how often the two argmaxes agree (should be ~1).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from nanogenie.config import WorldConfig
from nanogenie.errors import UserError
from nanogenie.eval.held_out import describe_fresh, fresh_episodes
from nanogenie.models.dynamics import DynamicsModel
from nanogenie.models.lam import LatentActionModel
from nanogenie.models.tokenizer import VideoTokenizer
from nanogenie.training.checkpoint import checkpoint_step, list_checkpoints, load_checkpoint
from nanogenie.training.run_folder import RunFolder
from nanogenie.training.stages import held_out_clips
from nanogenie.world import load_weights

BATCH = 8


def load_into(module: torch.nn.Module, source: Path) -> torch.nn.Module:
    """Weights from a .safetensors file or a checkpoint folder (step_*), strictly; eval mode."""
    if source.is_dir():
        load_checkpoint(source, module)
    else:
        load_weights(module, source)  # casts a bundle's fp16 weights to the model's fp32
    return module.eval()


def stage_source(run: RunFolder, stage: str) -> Path:
    """A finished stage's weights, else its latest checkpoint (said on stderr)."""
    if run.weights(stage).is_file():
        return run.weights(stage)
    last = run.latest_checkpoint(stage)
    if last is None:
        raise UserError(f"{run.path}: no {stage} weights ({run.weights(stage).name}) and no {stage} checkpoint")
    print(f"{stage}: not finished, using its checkpoint {last.name}", file=sys.stderr)
    return last


def resolve(folder: Path, step: int | None) -> tuple[WorldConfig, dict[str, Path], int | None, str | None]:
    """(config, weights source per stage, dynamics step, env) of a run folder or a world bundle."""
    run = RunFolder(folder / "run")
    dyn_checkpoints = list_checkpoints(run.checkpoints("dynamics"))
    if run.config_file.is_file() and (run.weights("dynamics").is_file() or dyn_checkpoints):
        d = json.loads(run.config_file.read_text())
        config = WorldConfig.from_dict(d.get("config", d))  # as eval/lam_bench.py load_lam reads it
        if step is not None:
            found = [c for c in dyn_checkpoints if checkpoint_step(c) == step]
            if not found:
                have = ", ".join(str(checkpoint_step(c)) for c in dyn_checkpoints) or "none"
                raise UserError(f"{run.checkpoints('dynamics')}: no checkpoint of step {step} (there: {have})")
            dynamics, used = found[0], step
        elif run.weights("dynamics").is_file():
            # the final weights: written with the last checkpoint (run_folder.py stage_finished)
            dynamics = run.weights("dynamics")
            used = checkpoint_step(dyn_checkpoints[-1]) if dyn_checkpoints else config.train.dynamics.steps
        else:
            dynamics, used = dyn_checkpoints[-1], checkpoint_step(dyn_checkpoints[-1])
        sources = {"tokenizer": stage_source(run, "tokenizer"), "lam": stage_source(run, "lam"), "dynamics": dynamics}
        env = None
        if (folder / "world.json").is_file():
            env = json.loads((folder / "world.json").read_text()).get("data", {}).get("env")
        return config, sources, used, env
    if (folder / "world.json").is_file():
        if step is not None:
            raise UserError(f"{folder} is a world bundle without dynamics checkpoints; --step needs a run folder")
        meta = json.loads((folder / "world.json").read_text())
        config = WorldConfig.from_dict(meta["config"])
        sources = {stage: folder / f"{stage}.safetensors" for stage in ("tokenizer", "lam", "dynamics")}
        # a bundle records no step: its config's dynamics steps (what the run trained to)
        return config, sources, config.train.dynamics.steps, meta.get("data", {}).get("env")
    raise UserError(f"{folder}: neither a run folder with run/config.json and dynamics weights or checkpoints, "
                    f"nor a world bundle (world.json)")


@torch.no_grad()
def cached_last_frame_logits(dynamics: DynamicsModel, tokens: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """The play engine's way (models/generate.py): the clean frames 0..T-2 committed into the KV cache,
    then the fully masked frame T-1 -> logits (B, P, V)."""
    frame_actions = dynamics.frame_actions(actions)  # (B, T)
    cache = dynamics.new_cache(tokens.shape[0], tokens.device, dynamics.pos.dtype)
    cache.reset()
    for t in range(tokens.shape[1] - 1):
        dynamics.commit_frame(tokens[:, t], frame_actions[:, t], cache)
    masked = torch.full_like(tokens[:, -1], dynamics.mask_id)
    return dynamics.frame_logits(masked, frame_actions[:, -1], cache)


@torch.no_grad()
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="run folder (--out of nanogenie train) or world bundle")
    parser.add_argument("--clips", type=int, default=32)
    parser.add_argument("--step", type=int, default=None, help="the dynamics checkpoint of this step")
    parser.add_argument("--frames", type=int, default=16, help="frames per clip (history = frames - 1)")
    parser.add_argument("--env", default=None, help="simulator of the held-out episodes (default: the "
                        "bundle's world.json data env, else sonic)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    began = time.perf_counter()

    folder = Path(args.folder)
    config, sources, step, env = resolve(folder, args.step)
    env = args.env or env or "sonic"
    tokenizer = load_into(VideoTokenizer(config.tokenizer), sources["tokenizer"])
    lam = load_into(LatentActionModel(config.lam), sources["lam"])
    dynamics = load_into(DynamicsModel(config.dynamics), sources["dynamics"])
    if args.frames > config.dynamics.context_frames:
        print(f"--frames {args.frames} > the dynamics' context_frames {config.dynamics.context_frames}: the "
              f"masked frame sees only the last {config.dynamics.context_frames - 1} frames before it", file=sys.stderr)

    data = fresh_episodes(env, config)
    frames_all, _ = held_out_clips(data, data.episodes(), args.frames, config.train.frame_skip, count=args.clips)

    changed_all, hit_all, agree_all = [], [], []
    for b in range(0, len(frames_all), BATCH):
        frames = frames_all[b:b + BATCH]  # (B, T, 3, H, W) in [-1, 1]
        tokens = tokenizer.encode(frames)  # (B, T, P)
        actions = lam.infer_actions(frames)  # (B, T-1)
        inputs = tokens.clone()
        inputs[:, -1] = dynamics.mask_id  # the last frame fully masked behind a clean history
        guess = dynamics(inputs, actions)[:, -1].argmax(-1)  # (B, P)
        agree_all.append(cached_last_frame_logits(dynamics, tokens, actions).argmax(-1) == guess)
        hit_all.append(guess == tokens[:, -1])
        changed_all.append(tokens[:, -1] != tokens[:, -2])
    changed, hit, agree = torch.cat(changed_all), torch.cat(hit_all), torch.cat(agree_all)

    def share(x: torch.Tensor) -> float | None:
        return round(float(x.float().mean()), 4) if x.numel() else None

    print(json.dumps({
        "folder": str(folder), "weights": str(sources["dynamics"]), "val_step": step,
        "output": config.dynamics.output, "clips": len(frames_all), "frames": args.frames,
        "tokens": int(changed.numel()),
        "changed_share": share(changed),
        "changed_accuracy": share(hit[changed]),
        "unchanged_accuracy": share(hit[~changed]),
        "accuracy": share(hit),
        "cache_argmax_agreement": share(agree),
        "held_out": describe_fresh(env, config),
        "seconds": round(time.perf_counter() - began, 1),
    }), flush=True)


if __name__ == "__main__":
    try:
        main()
    except UserError as err:
        sys.exit(f"error: {err}")
