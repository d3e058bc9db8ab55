"""Evaluation of a world on held-out clips (eval/held_out.py): reconstruction, latent actions,
controllability, rollouts, speed.

Shape legend: B clips, T clip frames, P tokens per frame, A latent actions.
Every figure comes from the same fixed set of clips (evenly spaced over the held-out spans, so two
runs on the same data measure the same thing): T = CONTEXT_FRAMES + the longest horizon frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from nanogenie.config import WorldConfig
from nanogenie.data import VideoData
from nanogenie.data.splits import Span
from nanogenie.errors import UserError
from nanogenie.metrics import (code_usage, moving_psnr, normalized_mutual_information, probe_accuracy, psnr,
                               standard_error)
from nanogenie.models.generate import FrameGenerator
from nanogenie.play.engine import Engine, median_ms_per_frame
from nanogenie.training.plots import plot_frame_rows, to_uint8
from nanogenie.training.stages import held_out_clips, label_transitions, sequences

CONTEXT_FRAMES = 4  # clean true frames before generation starts; delta_t_psnr's t = 4
HORIZONS = (1, 4, 16)
EVAL_BATCH = 8
ENGINE_FRAMES = 30  # measured after a full context of warm-up


def eval_clips(data: VideoData, spans: list[Span], count: int, frame_skip: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` clips (B, T, 3, H, W) evenly spaced over the spans, and their true actions (B, T-1)."""
    length = CONTEXT_FRAMES + max(HORIZONS)
    try:
        return held_out_clips(data, spans, length, frame_skip, count)
    except UserError as err:
        raise UserError(f"held-out episodes are too short to evaluate {length}-frame rollouts ({err})") from None


def random_after_context(actions: torch.Tensor, num_actions: int, seed: int) -> torch.Tensor:
    """actions (B, T-1) with every action after the context replaced by a random one, drawn from `seed`: what
    delta_t_psnr compares the inferred actions against."""
    drawn = torch.randint(num_actions, actions.shape, device=actions.device,
                          generator=torch.Generator(device=actions.device).manual_seed(seed))
    drawn[:, :CONTEXT_FRAMES - 1] = actions[:, :CONTEXT_FRAMES - 1]
    return drawn


@torch.no_grad()
def generate_after_context(world, tokens: torch.Tensor, actions: torch.Tensor, horizon: int, seed: int,
                           keys: "KeysHeld | None" = None) -> torch.Tensor:
    """Generated frames (B, horizon, 3, H, W) after the true context tokens, driven by `actions` (B, >=T0-1+horizon),
    drawn as play draws them: the sampled tokens, or (dynamics.decode "expected") each one's expected code. With
    `keys`, a held key that owns several codes plays the one the LAM reads from the frame before, as play does
    (Engine.code_for): that step's action in `actions` is its first code."""
    dyn_cfg = world.config.dynamics
    fsq = world.tokenizer.fsq
    code_values = fsq.all_codes() if dyn_cfg.decode == "expected" else None  # (V, d)
    generator = FrameGenerator(world.dynamics, dyn_cfg.maskgit_steps, dyn_cfg.temperature)
    generator.reset(tokens[:, :CONTEXT_FRAMES], actions[:, :CONTEXT_FRAMES - 1])
    rng = torch.Generator(device=tokens.device).manual_seed(seed)
    context = fsq.indices_to_codes(tokens[:, :CONTEXT_FRAMES])  # (B, T0, P, d)
    actions = actions.clone() if keys is not None else actions
    made = []  # (B, P, d) codes per frame
    for h in range(horizon):
        if keys is not None and h > 0:
            # what play's LAM reads: the true context, then the frames drawn so far, decoded as the picture is
            drawn = torch.stack(made, dim=1)
            if world.tokenizer.decoder_temporal:  # it decodes a frame with the clip before it
                drawn = world.tokenizer.decode_codes(torch.cat((context, drawn), dim=1))[:, CONTEXT_FRAMES:]
            else:
                drawn = world.tokenizer.decode_codes(drawn[:, -(world.lam.cfg.history_frames + 1):])
            shown = torch.cat((keys.context.expand(len(drawn), -1, -1, -1, -1), drawn), dim=1)
            actions[:, CONTEXT_FRAMES - 1 + h] = keys.played(world.lam, shown, actions[:, CONTEXT_FRAMES - 1 + h], h)
        noise = generator.sampler.draw_noise(len(tokens), tokens.device, rng)
        new, expected = generator.generate_expected(actions[:, CONTEXT_FRAMES - 1 + h], noise, code_values)
        made.append(fsq.indices_to_codes(new) if expected is None else expected)
    # Decode with the true context in front, so a temporal decoder sees what play would give it.
    return world.tokenizer.decode_codes(torch.cat((context, torch.stack(made, dim=1)), dim=1))[:, CONTEXT_FRAMES:]


class KeysHeld:
    """The codes each row's key owns at each generated step (B x horizon tuples, keymap.Codes), for
    generate_after_context: a key that owns several plays the one the LAM reads from the transition just drawn
    when it is one of them, else its first. `context` (1 or B, T0, 3, H, W): the true frames generation starts
    after, which the LAM reads first, as play reads its prompt."""

    def __init__(self, owned: list[list[tuple[int, ...]]], context: torch.Tensor | None = None):
        self.owned, self.context = owned, context

    @property
    def any_split(self) -> bool:
        return any(len(codes) > 1 for row in self.owned for codes in row)

    def played(self, lam, shown: torch.Tensor, first: torch.Tensor, step: int) -> torch.Tensor:
        """shown (B, T, 3, H, W) the frames so far, first (B,) each key's first code ->
        the code each row plays at generated step `step` (B,)."""
        read = lam.infer_actions(shown[:, -(lam.cfg.history_frames + 1):])[:, -1].tolist()
        return torch.tensor([code if code in row[step] else int(f) for code, row, f in zip(read, self.owned, first)],
                            device=first.device)


def _actions_obeyed(world, recon: torch.Tensor, tokens: torch.Tensor, seed: int) -> torch.Tensor:
    """Does the dynamics do what it is told? From each clip's context, one frame is generated with each
    latent action a, and the LAM reads the action back from (reconstructed context, generated frame).
    Returns (B * A,) bools: read back == a."""
    num_actions = world.num_actions
    clips = recon.shape[0]
    context = tokens[:, :CONTEXT_FRAMES].repeat_interleave(num_actions, dim=0)  # (B A, T0, P)
    past = world.lam.infer_actions(recon[:, :CONTEXT_FRAMES]).repeat_interleave(num_actions, dim=0)  # (B A, T0-1)
    told = torch.arange(num_actions, device=tokens.device).repeat(clips)  # (B A,)
    generated = generate_after_context(world, context, torch.cat((past, told[:, None]), dim=1), 1, seed)  # (B A, 1, 3, H, W)
    history = recon[:, :CONTEXT_FRAMES].repeat_interleave(num_actions, dim=0)
    read_back = world.lam.infer_actions(torch.cat((history, generated), dim=1))[:, -1]
    return (read_back == told).cpu()


def held_out_action_pairs(lam, data: VideoData, spans: list[Span], config: WorldConfig, device: str
                          ) -> tuple[np.ndarray, np.ndarray]:
    """(true actions, LAM actions) for every transition in the spans; empty when the data has no actions."""
    seqs = sequences(spans, config.train.frame_skip, 2)
    if data.actions is None or not seqs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    latent = label_transitions(lam, data, seqs, device, config.train.amp)
    truth = np.concatenate([data.actions[index[:-1]] for index in seqs]).astype(np.int64)
    latent = torch.cat(latent).numpy().astype(np.int64)
    known = truth >= 0
    return truth[known], latent[known]


def lam_figures(lam, data: VideoData, spans: list[Span], config: WorldConfig, device: str
                ) -> dict[str, float | None]:
    """Held-out lam_nmi and lam_probe_accuracy of the LAM as it is now (its training mode is kept), on
    every transition with its history; None for both when the data has no true actions."""
    was_training = lam.training
    truth, latent = held_out_action_pairs(lam, data, spans, config, device)
    lam.train(was_training)
    if len(truth) == 0:
        return {"lam_nmi": None, "lam_probe_accuracy": None, "lam_code_shares": None}
    shares = np.bincount(latent, minlength=lam.num_actions) / len(latent)  # a code near 1: collapsed
    return {"lam_nmi": round(normalized_mutual_information(truth, latent), 4),
            "lam_probe_accuracy": round(probe_accuracy(truth, latent), 4),
            "lam_code_shares": [round(float(s), 4) for s in shares]}


def engine_speed(world, device: str, seed: int = 0) -> dict[str, float]:
    """Milliseconds per frame of the play engine (the measure bench uses), and the frame rate that allows."""
    engine = Engine(world, device="cuda" if device.startswith("cuda") else device, seed=seed)
    ms = median_ms_per_frame(engine, ENGINE_FRAMES)
    return {"ms_per_frame": round(ms, 3), "play_fps": round(1000 / ms, 2), "device": engine.device}


def _mean(values: list[torch.Tensor]) -> float:
    return round(float(torch.cat(values).mean()), 3)


def _nanmean(values: list[torch.Tensor]) -> float | None:
    mean = float(torch.cat(values).nanmean())
    return None if mean != mean else round(mean, 3)  # None when nothing moved at all


@torch.no_grad()
def evaluate_world(world, data: VideoData, spans: list[Span], device: str, seed: int = 0,
                   plots_dir: Path | None = None) -> dict:
    """All eval figures as one JSON-ready dict; with `plots_dir`, also the reconstruction, rollout and
    latent-action PNGs."""
    cfg = world.config
    true_actions = cfg.train.dynamics_actions == "true"  # the dynamics was conditioned on recorded actions
    frames_all, recorded_all = eval_clips(data, spans, cfg.train.eval_clips, cfg.train.frame_skip)
    if true_actions and bool((recorded_all < 0).any()):
        raise UserError("this world's dynamics is driven by recorded actions, and the held-out data has none; "
                        "evaluate it on data with actions")
    num_actions = world.num_actions
    tok_psnr, tok_moving, tokens_seen, latent_seen = [], [], [], []
    rollout_psnr, rollout_moving = {h: [] for h in HORIZONS}, {h: [] for h in HORIZONS}
    copy_psnr = {h: [] for h in HORIZONS}  # baseline: the last context frame, repeated
    with_action, with_random, obeyed = [], [], []
    for b in range(0, len(frames_all), EVAL_BATCH):
        frames = frames_all[b:b + EVAL_BATCH].to(device)  # (B, T, 3, H, W)
        tokens = world.tokenizer.encode(frames)  # (B, T, P)
        recon = world.tokenizer.decode(tokens)
        tok_psnr.append(psnr(recon.flatten(0, 1), frames.flatten(0, 1)))
        tok_moving.append(moving_psnr(recon[:, 1:].flatten(0, 1), frames[:, 1:].flatten(0, 1),
                                      frames[:, :-1].flatten(0, 1)))
        latent = world.lam.infer_actions(frames)  # (B, T-1)
        actions = recorded_all[b:b + EVAL_BATCH].to(device) if true_actions else latent  # what drives the dynamics
        tokens_seen.append(tokens.cpu())
        latent_seen.append(latent.cpu())

        generated = generate_after_context(world, tokens, actions, max(HORIZONS), seed + b)
        for h in HORIZONS:
            rollout_psnr[h].append(psnr(generated[:, h - 1], frames[:, CONTEXT_FRAMES + h - 1]))
            rollout_moving[h].append(moving_psnr(generated[:, h - 1], frames[:, CONTEXT_FRAMES + h - 1],
                                                 frames[:, CONTEXT_FRAMES + h - 2]))
            copy_psnr[h].append(psnr(frames[:, CONTEXT_FRAMES - 1], frames[:, CONTEXT_FRAMES + h - 1]))
        # Controllability at t = CONTEXT_FRAMES: the inferred action against a random one, same noise.
        with_action.append(rollout_psnr[1][-1])
        random_actions = random_after_context(actions, num_actions, seed + 7 + b)
        with_random.append(psnr(generate_after_context(world, tokens, random_actions, 1, seed + b)[:, 0],
                                frames[:, CONTEXT_FRAMES]))
        if not true_actions:  # the LAM reads latent codes back; a recorded action it has no name for
            obeyed.append(_actions_obeyed(world, recon, tokens, seed + b))
        if plots_dir is not None and b == 0:
            write_eval_plots(world, frames[0], recon[0], generated[0], tokens[0], actions[0], Path(plots_dir))

    latent = torch.cat(latent_seen).numpy().reshape(-1)
    return {
        "tokenizer_psnr": _mean(tok_psnr),
        "tokenizer_moving_psnr": _nanmean(tok_moving),
        "tokenizer_code_usage": round(code_usage(torch.cat(tokens_seen), cfg.tokenizer.codebook_size), 4),
        "lam_code_usage": round(code_usage(latent, num_actions), 4),
        **lam_figures(world.lam, data, spans, cfg, device),  # as training logs them at LAM checkpoints
        "action_consistency": round(float(torch.cat(obeyed).float().mean()), 4) if obeyed else None,
        "delta_t_psnr": round(_mean(with_action) - _mean(with_random), 3),
        # one clip's gain varies so much that 16 clips leave ~0.4 dB of standard error on sonic
        # (docs/lab/2026-12-07-sonic-bf16-shipped.md): the figure says how far another sample of clips would move it
        "delta_t_psnr_se": standard_error(torch.cat(with_action) - torch.cat(with_random)),
        "rollout_psnr": {str(h): _mean(rollout_psnr[h]) for h in HORIZONS},
        "rollout_moving_psnr": {str(h): _nanmean(rollout_moving[h]) for h in HORIZONS},
        "copy_psnr": {str(h): _mean(copy_psnr[h]) for h in HORIZONS},
        **engine_speed(world, device, seed),
        "clips": len(frames_all),
        "nmi_normalisation": "I(X;Y)/sqrt(H(X)H(Y))",
    }


def write_eval_plots(world, frames: torch.Tensor, recon: torch.Tensor, generated: torch.Tensor,
                     tokens: torch.Tensor, actions: torch.Tensor, plots_dir: Path, grid_steps: int = 6) -> None:
    """Reconstructions, a rollout strip and what each action does from one starting point. One clip:
    frames, recon (T, 3, H, W), generated (horizon, 3, H, W), tokens (T, P), and the actions (T-1,)
    that drove the rollout."""
    shown = min(8, frames.shape[0])
    plot_frame_rows([to_uint8(frames[:shown]), to_uint8(recon[:shown])], ["true", "reconstructed"],
                    "tokenizer reconstructions", plots_dir / "reconstructions.png")
    plot_frame_rows([to_uint8(frames[CONTEXT_FRAMES:]), to_uint8(generated)], ["true", "generated"],
                    f"rollout after {CONTEXT_FRAMES} true frames ({world.config.train.dynamics_actions} actions)",
                    plots_dir / "rollout.png")
    num_actions = world.num_actions
    context = tokens[None, :CONTEXT_FRAMES].expand(num_actions, -1, -1)  # (A, T0, P): one row per action
    held = torch.arange(num_actions, device=tokens.device)[:, None].expand(-1, grid_steps)  # (A, steps)
    context_actions = torch.cat((actions[None, :CONTEXT_FRAMES - 1].expand(num_actions, -1), held), dim=1)
    rows = generate_after_context(world, context.contiguous(), context_actions.contiguous(), grid_steps, seed=0)
    start = to_uint8(frames[CONTEXT_FRAMES - 1:CONTEXT_FRAMES])
    plot_frame_rows([np.concatenate((start, to_uint8(r))) for r in rows], [f"action {a}" for a in range(num_actions)],
                    "each action held from the same frame", plots_dir / "latent_actions.png")
