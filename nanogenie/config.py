"""Configs: one dataclass per model, one for training (with one per stage); presets; JSON round trip.

A world bundle stores a `WorldConfig` as JSON (`world.json`), and every model is rebuilt from it, so
a field added here must have a default that keeps old bundles loading.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from nanogenie.errors import UserError


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise UserError(message)


def _check_positive(where: str, **values: int) -> None:
    for name, value in values.items():
        _check(value >= 1, f"{where}.{name} must be >= 1, got {value}")


def _check_range(where: str, name: str, value: float, low: float, high: float, why: str = "") -> None:
    """low <= value <= high. The upper bounds keep a typo (an extra zero or three) from allocating
    terabytes or running for days before it fails; each says why it is where it is."""
    _check(low <= value <= high, f"{where}.{name} must be from {low} to {high}{f' ({why})' if why else ''}, "
                                 f"got {value}")


# Upper bounds shared by the models. A frame holds at most MAX_IMAGE_SIZE^2 pixels (as `data import`
# --size); temporal attention and the play-time KV cache hold MAX_CONTEXT_FRAMES frames.
MAX_IMAGE_SIZE = 1024
MAX_CONTEXT_FRAMES = 256
MAX_WIDTH = 4096
MAX_DEPTH = 64
MAX_CODES = 2**16  # tokenizer codebook (the dynamics' vocabulary and its output layer)
MAX_STEP_FRAMES = 16_384  # frames in one optimizer step's batch: ~800 MB of 64x64 float frames
CONTEXT_WHY = "frames of temporal context; play keeps a KV cache of them all"


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
    # Loss weight of the pixels that change between consecutive frames of a clip (sprites, scrolled
    # edges: what a player watches) against still ones; 1 weighs all alike. Needs clips of >= 2 frames.
    moving_weight: float = 1.0
    # Channels of the convolutional stem at each resolution from full size down, one stride-2 stage each
    # (so 2 ** len == patch_size), mirrored by the decoder's upsampling head. Empty: a patch is embedded
    # and drawn by one linear map.
    conv_channels: list[int] = field(default_factory=list)
    # With conv_channels: whether the encoder has the stem too. Its receptive field crosses patch edges, so
    # a token then also changes when a neighbouring patch does; without it only the decoder is convolutional.
    conv_encoder: bool = True
    # "transformer": the encoder is an ST transformer (spatial attention, and temporal unless
    # encoder_temporal is off). "local": a residual MLP per patch (models/patch_mlp.py), so a token
    # depends on its own patch alone (and on its neighbours' pixels through a conv stem, if there is one).
    encoder: str = "transformer"

    def __post_init__(self) -> None:
        _check_range("tokenizer", "image_size", self.image_size, 8, MAX_IMAGE_SIZE, "square frames, in pixels")
        _check_range("tokenizer", "patch_size", self.patch_size, 1, self.image_size, "at most the frame")
        _check_range("tokenizer", "width", self.width, 1, MAX_WIDTH)
        _check_range("tokenizer", "encoder_depth", self.encoder_depth, 1, MAX_DEPTH)
        _check_range("tokenizer", "decoder_depth", self.decoder_depth, 1, MAX_DEPTH)
        _check_range("tokenizer", "context_frames", self.context_frames, 1, MAX_CONTEXT_FRAMES, CONTEXT_WHY)
        _check_positive("tokenizer", heads=self.heads)
        _check(bool(self.levels) and all(level >= 2 for level in self.levels),
               f"tokenizer levels must be a non-empty list of numbers >= 2, got {self.levels}")
        _check(math.prod(self.levels) <= MAX_CODES, f"tokenizer.levels {self.levels} make {math.prod(self.levels)} "
                                                    f"codes; at most {MAX_CODES}")
        _check(self.image_size % self.patch_size == 0,
               f"tokenizer image_size {self.image_size} must be a multiple of patch_size {self.patch_size}")
        _check(self.width % self.heads == 0, f"tokenizer width {self.width} must divide by heads {self.heads}")
        _check_range("tokenizer", "moving_weight", self.moving_weight, 1, 1000, "1 weighs every pixel alike")
        _check(not self.conv_channels or (2 ** len(self.conv_channels) == self.patch_size
                                          and all(1 <= c <= MAX_WIDTH for c in self.conv_channels)),
               f"tokenizer conv_channels needs one positive width per halving of the frame down to a patch "
               f"(log2 patch_size = {self.patch_size.bit_length() - 1} of them), got {self.conv_channels}")
        _check(self.encoder in ("transformer", "local"),
               f"tokenizer encoder must be 'transformer' or 'local', got {self.encoder!r}")
        _check(self.encoder == "transformer" or not self.encoder_temporal,
               "tokenizer encoder 'local' sees one frame at a time; set tokenizer.encoder_temporal=false")

    @property
    def tokens_per_frame(self) -> int:
        return (self.image_size // self.patch_size) ** 2

    @property
    def codebook_size(self) -> int:
        return math.prod(self.levels)


@dataclass
class LAMConfig:
    """Latent action model: frames (B,T,3,H,W) -> actions (B,T-1) in [0, num_actions). A forward model
    with one head per action; a transition's action is the head that predicted it best (models/lam.py)."""

    image_size: int = 64
    patch_size: int = 4  # the conv net works on a grid of p x p pixel cells (pixel-unshuffle)
    width: int = 32  # conv channels C (a multiple of 8, for GroupNorm)
    num_actions: int = 8  # |A|: heads, each predicting one possible next frame
    history_frames: int = 2  # frames the heads see; 2 makes velocities predictable, so heads split on controls
    spread: float = 0.05  # share of the loss spread over every head, so a head that never wins still learns
    reset_after: int = 200  # a head that wins nothing for this many steps restarts as a copy of the busiest
    passive_loss: bool = False  # the history's path learns on every transition, the heads on top (models/lam.py)
    align_shift: int = 0  # the target is shifted by up to this many pixels to meet the history's prediction (models/lam.py)
    resolution: str = "cell"  # heads predict and are scored on "cell" means or every "pixel" (models/lam.py)
    max_share: float = 1.0  # in training no head wins more than this share of a batch; 1: the best head always wins
    noise_model: bool = False  # errors weighed by a predicted per-pixel variance of what no head explains

    def __post_init__(self) -> None:
        _check_positive("lam", image_size=self.image_size, patch_size=self.patch_size)
        _check_range("lam", "reset_after", self.reset_after, 1, 1_000_000, "steps a head may win nothing")
        _check_range("lam", "history_frames", self.history_frames, 1, 16)
        _check(self.image_size % (2 * self.patch_size) == 0,
               f"lam image_size {self.image_size} (= tokenizer.image_size) must be a multiple of 2 x lam.patch_size "
               f"{self.patch_size}, i.e. of {2 * self.patch_size}")
        _check(self.width % 8 == 0 and 0 < self.width <= MAX_WIDTH,
               f"lam width {self.width} must be a positive multiple of 8, at most {MAX_WIDTH}")
        _check_range("lam", "num_actions", self.num_actions, 2, 256, "latent actions, one head each")
        _check(0 <= self.spread < 1, f"lam spread must be in [0, 1), got {self.spread}")
        _check(1 / self.num_actions <= self.max_share <= 1,
               f"lam max_share must be from 1 / num_actions ({1 / self.num_actions:.3f}) to 1, got {self.max_share}")
        _check(self.resolution in ("cell", "pixel"), f"lam resolution must be 'cell' or 'pixel', got {self.resolution!r}")
        _check(0 <= self.align_shift < self.image_size // 4,
               f"lam align_shift must be in [0, image_size / 4), got {self.align_shift}")


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
    min_p: float = 0.0  # MaskGIT drops codes below min_p x the most probable one's probability (models/maskgit.py)
    action_conditioning: str = "adaln"  # "adaln" | "add"
    moving_weight: float = 1.0  # loss weight on tokens next to where the context moved (models/dynamics.py)
    # train every frame against a clean copy of the frames before it (models/dynamics.py); a clip is fed
    # twice, so a step costs ~1.15x one without it
    clean_context: bool = True

    def __post_init__(self) -> None:
        _check_positive("dynamics", heads=self.heads, vocab_size=self.vocab_size,
                        tokens_per_frame=self.tokens_per_frame, num_actions=self.num_actions)
        _check_range("dynamics", "width", self.width, 1, MAX_WIDTH)
        _check_range("dynamics", "depth", self.depth, 1, MAX_DEPTH)
        _check_range("dynamics", "context_frames", self.context_frames, 1, MAX_CONTEXT_FRAMES, CONTEXT_WHY)
        _check_range("dynamics", "temperature", self.temperature, 0, 100, "0 samples greedily")
        _check(0 <= self.min_p < 1, f"dynamics min_p must be in [0, 1), got {self.min_p}")
        _check(self.width % self.heads == 0, f"dynamics width {self.width} must divide by heads {self.heads}")
        _check(self.action_conditioning in ("adaln", "add"),
               f"dynamics action_conditioning must be 'adaln' or 'add', got {self.action_conditioning!r}")
        _check_range("dynamics", "maskgit_steps", self.maskgit_steps, 1, min(64, self.tokens_per_frame),
                     "passes per generated frame, each revealing at least one of its tokens")
        _check_range("dynamics", "moving_weight", self.moving_weight, 1, 1000, "1 weighs every token alike")
        side = math.isqrt(self.tokens_per_frame)
        _check(self.moving_weight == 1 or side * side == self.tokens_per_frame,
               f"dynamics moving_weight needs a square token grid, got {self.tokens_per_frame} tokens per frame")


STAGES = ("tokenizer", "lam", "dynamics")  # the order a world trains in


@dataclass
class StageConfig:
    """How one stage trains: `steps` optimizer steps on batches of `batch_size` clips of `clip_frames`."""

    steps: int
    clip_frames: int
    batch_size: int
    lr: float = 1e-3  # peak, after warmup; cosine decay to 10% of it
    weight_decay: float = 0.01  # on matrices only

    def check(self, where: str) -> None:
        """Called by the TrainConfig that holds this stage, which knows its name (`where`: train.NAME)."""
        _check_range(where, "steps", self.steps, 1, 10_000_000)
        _check_range(where, "clip_frames", self.clip_frames, 1, MAX_CONTEXT_FRAMES)
        _check_range(where, "batch_size", self.batch_size, 1, 1024, "clips per optimizer step; memory grows with it")
        _check(self.batch_size * self.clip_frames <= MAX_STEP_FRAMES,
               f"{where}.batch_size x clip_frames ({self.batch_size} x {self.clip_frames}) must be at most "
               f"{MAX_STEP_FRAMES} frames per optimizer step; lower one of them")
        _check(self.lr > 0, f"{where}.lr must be > 0, got {self.lr}")
        _check_range(where, "weight_decay", self.weight_decay, 0, 1)


@dataclass
class TrainConfig:
    """How a world trains: the data, one StageConfig per stage, and what the stages share. The dynamics
    clips should match its context_frames: temporal attention never learns offsets longer than the
    clips it trained on."""

    data_frames: int = 60_000  # frames generated from the simulator when no --data is given
    frame_skip: int = 1
    # clip_frames 1 suits a tokenizer without temporal attention (encoder_temporal=False)
    tokenizer: StageConfig = field(default_factory=lambda: StageConfig(steps=3000, clip_frames=4, batch_size=16))
    # the LAM learns from single transitions with their history: history_frames + 1 frames suffice; its
    # small conv net learns fastest at a higher lr and without decay (docs/lab/NOTES.md, "Latent actions")
    lam: StageConfig = field(default_factory=lambda: StageConfig(steps=2000, clip_frames=3, batch_size=32, lr=2e-3,
                                                                 weight_decay=0.0))
    dynamics: StageConfig = field(default_factory=lambda: StageConfig(steps=4000, clip_frames=16, batch_size=10))
    warmup_steps: int = 100
    grad_clip: float = 1.0
    checkpoint_every: int = 250  # optimizer steps between checkpoints (the most a kill can lose)
    keep_checkpoints: int = 2
    eval_episodes: int = 8  # held-out episodes for eval
    eval_clips: int = 16  # clips sampled from them for the eval figures (keeps eval to minutes on a CPU)
    log_every: int = 10  # optimizer steps between log.jsonl lines
    # optimizer steps between the LAM's held-out action figures (lam_nmi, lam_probe_accuracy); its stage's
    # last step always has them. They label every held-out transition, 10-18 s on one CPU thread: at each
    # 100-step checkpoint they took a third of the LAM's minutes (docs/lab/NOTES.md)
    action_figures_every: int = 500
    seed: int = 0
    # what the dynamics is conditioned on: "latent" (the LAM's codes) or "true" (the data's recorded actions,
    # for labelled video, and the ceiling of a latent-action world); the keymap then binds true actions
    dynamics_actions: str = "latent"
    amp: bool = True  # bf16 autocast on CUDA (ignored on CPU)
    compile: bool = False  # torch.compile the models on CUDA

    def __post_init__(self) -> None:
        for name in STAGES:
            self.stage(name).check(f"train.{name}")
        _check_range("train", "data_frames", self.data_frames, 1, 1_000_000,
                     "frames generated into memory, ~12 GB at 64x64")
        _check_range("train", "frame_skip", self.frame_skip, 1, 64)
        _check_range("train", "warmup_steps", self.warmup_steps, 0, 10_000_000)
        _check(self.grad_clip > 0, f"train.grad_clip must be > 0 (the largest gradient norm a step applies), "
                                   f"got {self.grad_clip}")
        _check_positive("train", checkpoint_every=self.checkpoint_every, log_every=self.log_every,
                        action_figures_every=self.action_figures_every)
        _check_range("train", "keep_checkpoints", self.keep_checkpoints, 1, 1000, "--resume needs one")
        _check_range("train", "eval_episodes", self.eval_episodes, 1, 1000,
                     "held-out episodes; at most a fifth of the data is held out")
        _check_range("train", "eval_clips", self.eval_clips, 1, 1000, "clips the eval figures average over")
        _check_range("train", "seed", self.seed, 0, 2**32 - 1)
        _check(self.dynamics_actions in ("latent", "true"),
               f"train dynamics_actions must be 'latent' or 'true', got {self.dynamics_actions!r}")

    def stage(self, name: str) -> StageConfig:
        _check(name in STAGES, f"unknown stage {name!r}; the stages are {', '.join(STAGES)}")
        return getattr(self, name)


@dataclass
class WorldConfig:
    """Everything needed to rebuild a world's models; stored in world.json."""

    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    lam: LAMConfig = field(default_factory=LAMConfig)
    dynamics: DynamicsConfig = field(default_factory=DynamicsConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Link the shared numbers, then check every part again: linking changes the LAM's and the
        dynamics' sizes after their own checks ran."""
        self.link()
        for part in (self.tokenizer, self.lam, self.dynamics, self.train):
            part.__post_init__()
        _check(self.train.lam.clip_frames > self.lam.history_frames,
               f"train.lam.clip_frames ({self.train.lam.clip_frames}) must exceed lam.history_frames "
               f"({self.lam.history_frames}): the LAM learns from transitions with their whole history")
        _check(self.train.dynamics.clip_frames >= 2, f"train.dynamics.clip_frames must be >= 2 (the dynamics learns "
                                                     f"a frame from the ones before it), got "
                                                     f"{self.train.dynamics.clip_frames}")
        _check(self.tokenizer.moving_weight == 1 or self.train.tokenizer.clip_frames >= 2,
               f"tokenizer moving_weight {self.tokenizer.moving_weight} needs train.tokenizer.clip_frames >= 2 "
               f"(moving pixels are found between consecutive frames)")

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
            section = d.get(f.name, {})
            _check(isinstance(section, dict), f"config section {f.name!r} must be an object, got {section!r}")
            given = dict(section)
            if sub_cls is TrainConfig:
                for stage in STAGES:
                    if stage in given:
                        _check(isinstance(given[stage], dict), f"config section 'train.{stage}' must be an object, "
                                                               f"got {given[stage]!r}")
                        given[stage] = _build(StageConfig, given[stage], f"train.{stage}")
            parts[f.name] = _build(sub_cls, given, f.name)
        return cls(**parts)


def _build(cls: type, given: dict[str, Any], where: str) -> Any:
    """cls(**given), with unknown fields and values of the wrong type named rather than a TypeError."""
    fields = {g.name: g for g in dataclasses.fields(cls)}
    unknown = set(given) - set(fields)
    _check(not unknown, f"unknown {where} config field(s) {sorted(unknown)}; known: {sorted(fields)}")
    for name, value in given.items():
        expected = str(fields[name].type)
        _check(_has_type(value, expected), f"config field {where}.{name} must be {expected}, got {value!r}")
    return cls(**given)


def _has_type(value: Any, expected: str) -> bool:
    """Does a JSON value fit a field annotation (the few kinds the configs use)?"""
    if " | " in expected:
        return any(_has_type(value, option) for option in expected.split(" | "))
    if expected == "None":
        return value is None
    if expected == "bool":
        return isinstance(value, bool)
    if expected == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if expected == "str":
        return isinstance(value, str)
    if expected == "list[int]":
        return isinstance(value, list) and all(_has_type(v, "int") for v in value)
    return True  # nested configs are built (and checked) by their own _build


def _tiny() -> WorldConfig:
    # Small enough that every test trains or generates in seconds on a 2-core CPU.
    return WorldConfig(
        tokenizer=TokenizerConfig(image_size=16, patch_size=4, width=32, encoder_depth=1, decoder_depth=1,
                                  heads=2, levels=[4, 4], context_frames=4),
        lam=LAMConfig(patch_size=4, width=8, num_actions=4, reset_after=5, align_shift=1),
        dynamics=DynamicsConfig(width=32, depth=2, heads=2, context_frames=4, maskgit_steps=2),
        train=TrainConfig(data_frames=400, tokenizer=StageConfig(steps=20, clip_frames=2, batch_size=4),
                          lam=StageConfig(steps=20, clip_frames=3, batch_size=4, lr=2e-3, weight_decay=0.0),
                          dynamics=StageConfig(steps=20, clip_frames=4, batch_size=4),
                          checkpoint_every=10, warmup_steps=2, eval_episodes=2,
                          eval_clips=4, log_every=1),
    )


LAM_CPU_STEPS = 4000  # ~20 minutes on 2 threads of this project's CPU (docs/lab/NOTES.md)


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
    # of a batch, so one head cannot win everything from the start (models/lam.py); the dynamics trains at its full
    # 16-frame play context, each frame against a clean copy of its past. Each choice and the variants
    # it beat: docs/lab/NOTES.md.
    return WorldConfig(
        tokenizer=TokenizerConfig(patch_size=8, levels=[8, 8, 6, 5], width=128, encoder_depth=4, decoder_depth=3,
                                  heads=4, encoder_temporal=False, moving_weight=10.0, encoder="local",
                                  conv_channels=[16, 32, 64], conv_encoder=False),
        lam=LAMConfig(width=32, align_shift=3, max_share=0.25),
        dynamics=DynamicsConfig(width=128, depth=4, heads=4, maskgit_steps=4),
        train=TrainConfig(data_frames=30_000, tokenizer=StageConfig(steps=5000, clip_frames=2, batch_size=8),
                          lam=StageConfig(steps=LAM_CPU_STEPS, clip_frames=3, batch_size=32, lr=2e-3, weight_decay=0.0),
                          dynamics=StageConfig(steps=1800, clip_frames=16, batch_size=5), checkpoint_every=100),
    )


def _gpu() -> WorldConfig:
    # Larger models for a CUDA machine: same data contract, wider and deeper.
    return WorldConfig(
        tokenizer=TokenizerConfig(width=256, encoder_depth=6, decoder_depth=6, heads=8),
        lam=LAMConfig(width=64, align_shift=3, max_share=0.25),
        dynamics=DynamicsConfig(width=512, depth=12, heads=8, maskgit_steps=8),
        train=TrainConfig(data_frames=200_000, tokenizer=StageConfig(steps=20_000, clip_frames=4, batch_size=32, lr=6e-4),
                          lam=StageConfig(steps=20_000, clip_frames=3, batch_size=64, lr=2e-3, weight_decay=0.0),
                          dynamics=StageConfig(steps=30_000, clip_frames=16, batch_size=20, lr=6e-4),
                          checkpoint_every=1000, compile=True),
    )


PRESETS = {"tiny": _tiny, "cpu": _cpu, "gpu": _gpu}


def preset(name: str, image_size: int | None = None) -> WorldConfig:
    """A fresh WorldConfig for a preset name, optionally at another frame size."""
    _check(name in PRESETS, f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    cfg = PRESETS[name]()
    if image_size is not None:
        cfg.tokenizer.image_size = image_size
        cfg.check()
    return cfg


def with_overrides(cfg: WorldConfig, overrides: list[str]) -> WorldConfig:
    """A copy of cfg with `section.field=value` (or `train.STAGE.field=value`) settings applied, as given to
    `nanogenie train --set`. Values are JSON (`5`, `0.5`, `true`, `[8, 8, 6, 5]`), else taken as text; the
    result is rebuilt and checked like a world.json, so a wrong name or type is a one-line error."""
    d = cfg.to_dict()
    for item in overrides:
        path, sep, text = item.partition("=")
        keys = path.strip().split(".")
        _check(bool(sep) and len(keys) >= 2 and all(keys),
               f"--set {item!r} must look like section.field=value, e.g. dynamics.moving_weight=5")
        node = d
        for depth, key in enumerate(keys[:-1]):
            _check(isinstance(node.get(key), dict), f"--set {item!r}: no config section {'.'.join(keys[:depth + 1])!r}; "
                                                    f"sections: {sorted(k for k, v in node.items() if isinstance(v, dict))}")
            node = node[key]
        _check(keys[-1] in node, f"--set {item!r}: no field {keys[-1]!r} in {'.'.join(keys[:-1])}; fields: "
                                 f"{sorted(k for k, v in node.items() if not isinstance(v, dict))}")
        try:
            node[keys[-1]] = json.loads(text)
        except ValueError:
            node[keys[-1]] = text
    return WorldConfig.from_dict(d)
