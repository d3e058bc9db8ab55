"""The presets a world trains from: tiny (tests), cpu (a playable world on a 2-core CPU in under two
hours) and gpu. Each returns a fresh WorldConfig, which `train --set` may change field by field."""

from __future__ import annotations

from nanogenie.config.checks import require
from nanogenie.config.models import DynamicsConfig, LAMConfig, TokenizerConfig
from nanogenie.config.training import StageConfig, TrainConfig
from nanogenie.config.world_config import WorldConfig


def _tiny() -> WorldConfig:
    # Small enough that every test trains or generates in seconds on a 2-core CPU.
    return WorldConfig(
        tokenizer=TokenizerConfig(image_size=16, patch_size=4, width=32, encoder_depth=1, decoder_depth=1,
                                  heads=2, levels=[4, 4], context_frames=4),
        lam=LAMConfig(patch_size=4, width=8, num_actions=4, reset_after=5, align_shift=1, inverse=True),
        dynamics=DynamicsConfig(width=32, depth=2, heads=2, context_frames=4, maskgit_steps=2),
        train=TrainConfig(data_frames=400, tokenizer=StageConfig(steps=20, clip_frames=2, batch_size=4),
                          lam=StageConfig(steps=20, clip_frames=3, batch_size=4, lr=2e-3, weight_decay=0.0),
                          lam_inverse=StageConfig(steps=10, clip_frames=3, batch_size=4),
                          dynamics=StageConfig(steps=20, clip_frames=4, batch_size=4),
                          checkpoint_every=10, warmup_steps=2, eval_episodes=2,
                          eval_clips=4, log_every=1),
    )


LAM_CPU_STEPS = 1200  # ~6 minutes on one thread; the codes settle early, and a longer schedule keeps its high
# learning rate long enough to leave a better assignment for a worse one (docs/lab/2026-12-03-history-leak.md)


def _cpu() -> WorldConfig:
    # Trains a playable 64x64 world on one CPU core in under two hours. Play cost is the dynamics (K+1
    # passes over the new frame's P tokens, and a V-way sampler) plus the tokenizer decoder, so the
    # tokens are 8x8 patches (P = 64) with a 1,920-code FSQ. The encoders only run in training, so they
    # are deeper. The tokenizer is per-frame; it trains on pairs of consecutive frames so that the pixels
    # that move (the hero, sprites, scrolled edges) weigh 10x in its loss, else it spends its few bits on
    # the still scene and drops the hero. Its encoder reads each patch on its own, so a token changes
    # only where its patch does, and a convolutional head draws the frame without patch seams. The LAM
    # learns from 3-frame clips (a transition and its history), scoring its heads after a whole-picture
    # offset of up to 3 pixels, so a camera's scroll is not an action, and no head may win more than a quarter
    # of a batch, so one head cannot win everything from the start; its history is two frames, so that it sees
    # what keeps moving on its own (a hero's momentum, a scroll), which the present frame alone cannot tell from
    # a key's effect. A 3-frame clip with two frames of history trains one transition, so `hold` (the held-key
    # hint, models/lam.py) has no neighbour to read here; what it still does is rank the capped assignment by
    # each transition's margin relative to the heads' mean error. A LAM head moves each cell's content by a
    # few pixels rather than adding colour (`effect="shift"`), as an action moves a sprite, and is scored on
    # cells through a tent filter, which follow a sprite one pixel at a time, and its net reads each cell's place
    # on the screen as well as its neighbourhood, since a key can act differently by place (a hero walks inside a
    # camera's window and scrolls the scene at its edge). Then an inverse model learns the
    # heads' codes and names them from then on (`inverse`), which names the action more often than the heads
    # that made the codes. The dynamics trains at its full 16-frame play context, each frame against a clean
    # copy of its past, in bf16 where the CPU has bf16 instructions: as much learnt per step, in 0.58x the minutes
    # (docs/lab/2026-12-06-cpu-bf16.md). Each choice and the variants it beat: docs/lab/NOTES.md.
    return WorldConfig(
        tokenizer=TokenizerConfig(patch_size=8, levels=[8, 8, 6, 5], width=128, encoder_depth=4, decoder_depth=3,
                                  heads=4, encoder_temporal=False, moving_weight=10.0, encoder="local",
                                  conv_channels=[16, 32, 64], conv_encoder=False),
        lam=LAMConfig(width=32, history_frames=2, align_shift=3, max_share=0.25, hold=0.5, effect="shift",
                      resolution="smooth", heads_see_position=True, inverse=True),
        dynamics=DynamicsConfig(width=128, depth=4, heads=4, maskgit_steps=4),
        train=TrainConfig(data_frames=30_000, tokenizer=StageConfig(steps=5000, clip_frames=2, batch_size=8),
                          lam=StageConfig(steps=LAM_CPU_STEPS, clip_frames=3, batch_size=32, lr=2e-3, weight_decay=0.0),
                          dynamics=StageConfig(steps=1800, clip_frames=16, batch_size=5, cpu_bf16=True),
                          checkpoint_every=100),
    )


def _gpu() -> WorldConfig:
    # Larger models for a CUDA machine: same data contract, wider and deeper.
    return WorldConfig(
        tokenizer=TokenizerConfig(width=256, encoder_depth=6, decoder_depth=6, heads=8),
        lam=LAMConfig(width=64, history_frames=2, align_shift=3, max_share=0.25, hold=0.5, effect="shift",
                      resolution="smooth", heads_see_position=True, inverse=True),
        dynamics=DynamicsConfig(width=512, depth=12, heads=8, maskgit_steps=8),
        train=TrainConfig(data_frames=200_000, tokenizer=StageConfig(steps=20_000, clip_frames=4, batch_size=32, lr=6e-4),
                          lam=StageConfig(steps=20_000, clip_frames=3, batch_size=64, lr=2e-3, weight_decay=0.0),
                          dynamics=StageConfig(steps=30_000, clip_frames=16, batch_size=20, lr=6e-4),
                          checkpoint_every=1000, compile=True),
    )


PRESETS = {"tiny": _tiny, "cpu": _cpu, "gpu": _gpu}


def preset(name: str, image_size: int | None = None) -> WorldConfig:
    """A fresh WorldConfig for a preset name, optionally at another frame size."""
    require(name in PRESETS, f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    cfg = PRESETS[name]()
    if image_size is not None:
        cfg.tokenizer.image_size = image_size
        cfg.check()
    return cfg
