"""Configs: one dataclass per model, one for training, one for play; presets; JSON round trip.

A world bundle stores a `WorldConfig` as JSON (`world.json`), and every model is rebuilt from it, so
a field added here must have a default that keeps old bundles loading.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from nanogenie.errors import UserError


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise UserError(message)


@dataclass
class TokenizerConfig:
    """FSQ video tokenizer: frames (B,T,3,H,W) <-> tokens (B,T,P)."""

    image_size: int = 64  # square frames, pixels
    patch_size: int = 4  # P = (image_size / patch_size)^2 tokens per frame
    width: int = 128  # transformer width D
    encoder_depth: int = 4  # ST blocks in the encoder
    decoder_depth: int = 4  # ST blocks in the decoder
    heads: int = 4
    levels: list[int] = field(default_factory=lambda: [8, 5, 5, 5])  # FSQ levels: 1000 codes
    context_frames: int = 16  # longest clip the temporal attention (and the play cache) sees
    encoder_temporal: bool = True  # encoder attends over time (False: tokens of a frame depend on it alone)
    decoder_temporal: bool = False  # decoder attends over time too (then play decodes through a KV cache)

    def __post_init__(self) -> None:
        _check(self.image_size % self.patch_size == 0,
               f"tokenizer image_size {self.image_size} must be a multiple of patch_size {self.patch_size}")
        _check(self.width % self.heads == 0, f"tokenizer width {self.width} must divide by heads {self.heads}")

    @property
    def tokens_per_frame(self) -> int:
        return (self.image_size // self.patch_size) ** 2

    @property
    def codebook_size(self) -> int:
        return math.prod(self.levels)


@dataclass
class LAMConfig:
    """Latent action model: frames (B,T,3,H,W) -> actions (B,T-1) in [0, num_actions)."""

    image_size: int = 64
    patch_size: int = 8  # coarser than the tokenizer: actions are global, not per-pixel
    width: int = 128
    encoder_depth: int = 4
    decoder_depth: int = 4
    heads: int = 4
    levels: list[int] = field(default_factory=lambda: [8])  # FSQ levels: |A| = prod(levels)
    context_frames: int = 16
    decoder_history: bool = False  # decoder sees x_<=t, not only x_t: velocities need no code (lam.py)
    input_mask_rate: float = 0.25  # training: fraction of the past frames' patches hidden from the decoder
    usage_weight: float = 0.1  # weight of the batch code-usage (entropy of the mean code) term

    def __post_init__(self) -> None:
        _check(self.image_size % self.patch_size == 0,
               f"lam image_size {self.image_size} must be a multiple of patch_size {self.patch_size}")
        _check(self.width % self.heads == 0, f"lam width {self.width} must divide by heads {self.heads}")

    @property
    def num_actions(self) -> int:
        return math.prod(self.levels)


@dataclass
class DynamicsConfig:
    """MaskGIT dynamics over tokens: z_<t, a_<t -> z_t. vocab/tokens/actions come from the other two."""

    vocab_size: int = 1000  # = tokenizer codebook_size
    tokens_per_frame: int = 256  # = tokenizer tokens_per_frame
    num_actions: int = 8  # = lam num_actions
    width: int = 192
    depth: int = 6
    heads: int = 6
    context_frames: int = 16  # frames of temporal context (the KV cache's ring size at play)
    maskgit_steps: int = 4  # K refinement steps per generated frame
    temperature: float = 1.0
    action_conditioning: str = "adaln"  # "adaln" | "add"

    def __post_init__(self) -> None:
        _check(self.width % self.heads == 0, f"dynamics width {self.width} must divide by heads {self.heads}")
        _check(self.action_conditioning in ("adaln", "add"),
               f"dynamics action_conditioning must be 'adaln' or 'add', got {self.action_conditioning!r}")
        _check(self.maskgit_steps >= 1, "dynamics maskgit_steps must be >= 1")


@dataclass
class TrainConfig:
    """How each stage trains. Steps are optimizer steps; a stage's batch is `<stage>_batch_size` clips of
    `<stage>_clip_frames` frames. The LAM and dynamics clips should match their models' context_frames:
    temporal attention never learns offsets longer than the clips it trained on."""

    data_frames: int = 60_000  # frames generated from the simulator when no --data is given
    frame_skip: int = 1
    tokenizer_clip_frames: int = 4  # 1 suits a tokenizer without temporal attention (encoder_temporal=False)
    tokenizer_batch_size: int = 16
    lam_clip_frames: int = 16
    lam_batch_size: int = 16
    dynamics_clip_frames: int = 16
    dynamics_batch_size: int = 16
    tokenizer_steps: int = 3000
    lam_steps: int = 2000
    dynamics_steps: int = 4000
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 100
    grad_clip: float = 1.0
    checkpoint_every: int = 250  # optimizer steps between checkpoints (the most a kill can lose)
    keep_checkpoints: int = 2
    eval_episodes: int = 8  # held-out episodes for eval
    eval_clips: int = 16  # clips sampled from them for the eval figures (keeps eval to minutes on a CPU)
    log_every: int = 10  # optimizer steps between log.jsonl lines
    seed: int = 0
    amp: bool = True  # bf16 autocast on CUDA (ignored on CPU)
    compile: bool = False  # torch.compile the models on CUDA

    def clip_frames(self, stage: str) -> int:
        return getattr(self, f"{stage}_clip_frames")

    def batch_size(self, stage: str) -> int:
        return getattr(self, f"{stage}_batch_size")


@dataclass
class PlayConfig:
    """Defaults for play; the world's own fps and keymap come from the bundle."""

    device: str = "auto"  # "auto" | "cpu" | "cuda"
    maskgit_steps: int | None = None  # None: the world's dynamics.maskgit_steps
    temperature: float | None = None  # None: the world's dynamics.temperature
    scale: int = 8  # window pixels per frame pixel
    seed: int = 0


@dataclass
class WorldConfig:
    """Everything needed to rebuild a world's models; stored in world.json."""

    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    lam: LAMConfig = field(default_factory=LAMConfig)
    dynamics: DynamicsConfig = field(default_factory=DynamicsConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        self.link()

    def link(self) -> "WorldConfig":
        """Make the shared numbers agree: the dynamics sizes follow the tokenizer and the LAM."""
        self.lam.image_size = self.tokenizer.image_size
        self.dynamics.vocab_size = self.tokenizer.codebook_size
        self.dynamics.tokens_per_frame = self.tokenizer.tokens_per_frame
        self.dynamics.num_actions = self.lam.num_actions
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "WorldConfig":
        parts = {}
        for f in dataclasses.fields(cls):
            sub_cls = f.default_factory().__class__  # type: ignore[misc]
            known = {g.name for g in dataclasses.fields(sub_cls)}
            given = dict(d.get(f.name, {}))
            if f.name == "train":  # bundle format 1 before per-stage clips: one clip length and batch for all
                for old in ("clip_frames", "batch_size"):
                    if old in given:
                        value = given.pop(old)
                        for stage in ("tokenizer", "lam", "dynamics"):
                            given.setdefault(f"{stage}_{old}", value)
            unknown = set(given) - known
            _check(not unknown, f"unknown {f.name} config field(s) {sorted(unknown)}; known: {sorted(known)}")
            parts[f.name] = sub_cls(**given)
        return cls(**parts)


def _tiny() -> WorldConfig:
    # Small enough that every test trains or generates in seconds on a 2-core CPU.
    return WorldConfig(
        tokenizer=TokenizerConfig(image_size=16, patch_size=4, width=32, encoder_depth=1, decoder_depth=1,
                                  heads=2, levels=[4, 4], context_frames=4),
        lam=LAMConfig(patch_size=8, width=32, encoder_depth=1, decoder_depth=1, heads=2, levels=[4],
                      context_frames=4, decoder_history=True),
        dynamics=DynamicsConfig(width=32, depth=2, heads=2, context_frames=4, maskgit_steps=2),
        train=TrainConfig(data_frames=400, tokenizer_clip_frames=2, tokenizer_batch_size=4, lam_clip_frames=4,
                          lam_batch_size=4, dynamics_clip_frames=4, dynamics_batch_size=4, tokenizer_steps=20,
                          lam_steps=20, dynamics_steps=20, checkpoint_every=10, warmup_steps=2, eval_episodes=2,
                          eval_clips=4, log_every=1),
    )


def _cpu() -> WorldConfig:
    # Trains a playable 64x64 world on a CPU and plays it at >= 15 frames/s on 2 cores. Play cost is
    # the dynamics (K+1 passes of P=256 tokens per frame) plus the tokenizer decoder; the encoders only
    # run in training, so they are deeper. Training cost decides the rest (one core, measured in
    # docs/BENCHMARKS.md): the tokenizer is per-frame, so it trains on single frames (16 per step
    # where a 4-frame clip would give 4 distinct scenes); the LAM sees 8-frame clips; the dynamics trains
    # at its full 16-frame play context, with few clips per step (tokens per step set the cost).
    return WorldConfig(
        tokenizer=TokenizerConfig(width=128, encoder_depth=4, decoder_depth=3, heads=4, encoder_temporal=False),
        lam=LAMConfig(width=128, encoder_depth=4, decoder_depth=3, heads=4, context_frames=8,
                      decoder_history=True),
        dynamics=DynamicsConfig(width=128, depth=4, heads=4, maskgit_steps=4),
        train=TrainConfig(data_frames=30_000, tokenizer_clip_frames=1, tokenizer_batch_size=16, lam_clip_frames=8,
                          lam_batch_size=8, dynamics_clip_frames=16, dynamics_batch_size=4, tokenizer_steps=1500,
                          lam_steps=800, dynamics_steps=1100, checkpoint_every=100),
    )


def _gpu() -> WorldConfig:
    # Larger models for a CUDA machine: same data contract, wider and deeper.
    return WorldConfig(
        tokenizer=TokenizerConfig(width=256, encoder_depth=6, decoder_depth=6, heads=8),
        lam=LAMConfig(width=256, encoder_depth=6, decoder_depth=6, heads=8, decoder_history=True),
        dynamics=DynamicsConfig(width=512, depth=12, heads=8, maskgit_steps=8),
        train=TrainConfig(data_frames=200_000, tokenizer_batch_size=32, lam_batch_size=32, dynamics_batch_size=32,
                          tokenizer_steps=20_000, lam_steps=10_000,
                          dynamics_steps=30_000, lr=6e-4, checkpoint_every=1000, compile=True),
    )


PRESETS = {"tiny": _tiny, "cpu": _cpu, "gpu": _gpu}


def preset(name: str, image_size: int | None = None) -> WorldConfig:
    """A fresh WorldConfig for a preset name, optionally at another frame size."""
    _check(name in PRESETS, f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    cfg = PRESETS[name]()
    if image_size is not None:
        cfg.tokenizer.image_size = image_size
        cfg.tokenizer.__post_init__()
        cfg.link()
    return cfg
