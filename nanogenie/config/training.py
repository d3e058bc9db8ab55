"""How a world trains: one StageConfig per stage, in a TrainConfig with what the stages share."""

from __future__ import annotations

from dataclasses import dataclass, field

from nanogenie.config.checks import MAX_CONTEXT_FRAMES, MAX_STEP_FRAMES, require, require_positive, require_range

STAGES = ("tokenizer", "lam", "dynamics")  # the order a world trains in
LAM_INVERSE = "lam_inverse"  # the LAM stage's second phase (lam.inverse): its checkpoints, log rows and schedule


def stage_parts(name: str) -> tuple[str, ...]:
    """What a stage of `--stage` trains, as the loop names them: the LAM stage is its heads, then its inverse."""
    return (name, LAM_INVERSE) if name == "lam" else (name,)


PARTS = tuple(part for stage in STAGES for part in stage_parts(stage))  # each with its schedule, in training order


@dataclass
class StageConfig:
    """How one stage trains: `steps` optimizer steps on batches of `batch_size` clips of `clip_frames`."""

    steps: int
    clip_frames: int
    batch_size: int
    lr: float = 1e-3  # peak, after warmup; cosine decay to final_lr x lr
    weight_decay: float = 0.01  # on matrices only
    final_lr: float = 0.1  # the cosine ends at this share of lr
    warmup_steps: int | None = None  # linear warmup; None: the run's train.warmup_steps
    # learn from the training spans within the data's first `frames` frames (None: all of them), so one recipe
    # can give a stage less of the video than another, as a run of that stage on a shorter file would
    frames: int | None = None
    # train under bf16 autocast on a CPU with bf16 instructions (device.cpu_has_bf16), fp32 elsewhere; on CUDA
    # train.amp decides. The weights and the optimizer stay fp32
    cpu_bf16: bool = False

    def check(self, where: str) -> None:
        """Called by the TrainConfig that holds this stage, which knows its name (`where`: train.NAME)."""
        require_range(where, "steps", self.steps, 1, 10_000_000)
        require_range(where, "clip_frames", self.clip_frames, 1, MAX_CONTEXT_FRAMES)
        require_range(where, "batch_size", self.batch_size, 1, 1024, "clips per optimizer step; memory grows with it")
        require(self.batch_size * self.clip_frames <= MAX_STEP_FRAMES,
                f"{where}.batch_size x clip_frames ({self.batch_size} x {self.clip_frames}) must be at most "
                f"{MAX_STEP_FRAMES} frames per optimizer step; lower one of them")
        require(self.lr > 0, f"{where}.lr must be > 0, got {self.lr}")
        require_range(where, "weight_decay", self.weight_decay, 0, 1)
        require_range(where, "final_lr", self.final_lr, 0, 1, "a share of lr")
        if self.warmup_steps is not None:
            require_range(where, "warmup_steps", self.warmup_steps, 0, 10_000_000)
        if self.frames is not None:
            require_range(where, "frames", self.frames, 1, 1_000_000, "the first frames of the data this stage uses")


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
    # the LAM's second phase when lam.inverse is on: a CNN learns the heads' codes of x_t-1, x_t, x_t+1 (a clip
    # of 3 frames). Without warmup and on a cosine to zero it named sonic's action more often than on the shared
    # schedule (0.416 against 0.396); longer, or at a constant lr, it learns the codes' noise
    # (docs/lab/2026-12-04-inverse-phase.md)
    lam_inverse: StageConfig = field(default_factory=lambda: StageConfig(steps=700, clip_frames=3, batch_size=32,
                                                                         final_lr=0.0, warmup_steps=0))
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
    # share of each dynamics batch drawn from clips that begin within `opening_frames` frames of their episode's
    # first frame. A world is played from a prompt at an episode's start, a stretch few clips drawn at random
    # from long episodes cover (sonic: its camera stands there, so a key moves the hero, not the scene). 0 draws
    # every clip alike; with data cut into time blocks rather than episodes the opening is a block's start.
    opening_share: float = 0.0
    opening_frames: int = 64
    amp: bool = True  # bf16 autocast on CUDA (ignored on CPU)
    compile: bool = False  # torch.compile the models on CUDA

    def __post_init__(self) -> None:
        for name in PARTS:
            self.stage(name).check(f"train.{name}")
        require_range("train", "data_frames", self.data_frames, 1, 1_000_000,
                      "frames generated into memory, ~12 GB at 64x64")
        require_range("train", "frame_skip", self.frame_skip, 1, 64)
        require_range("train", "warmup_steps", self.warmup_steps, 0, 10_000_000)
        require(self.grad_clip > 0, f"train.grad_clip must be > 0 (the largest gradient norm a step applies), "
                                    f"got {self.grad_clip}")
        require_positive("train", checkpoint_every=self.checkpoint_every, log_every=self.log_every,
                         action_figures_every=self.action_figures_every)
        require_range("train", "keep_checkpoints", self.keep_checkpoints, 1, 1000, "--resume needs one")
        require_range("train", "eval_episodes", self.eval_episodes, 1, 1000,
                      "held-out episodes; at most a fifth of the data is held out")
        require_range("train", "eval_clips", self.eval_clips, 1, 1000, "clips the eval figures average over")
        require_range("train", "seed", self.seed, 0, 2**32 - 1)
        require_range("train", "opening_share", self.opening_share, 0, 1, "a share of each dynamics batch")
        require_range("train", "opening_frames", self.opening_frames, 1, 1_000_000)
        require(self.dynamics_actions in ("latent", "true"),
                f"train dynamics_actions must be 'latent' or 'true', got {self.dynamics_actions!r}")

    def stage(self, name: str) -> StageConfig:
        """A stage's schedule; also the LAM's second phase (LAM_INVERSE), which trains as a stage of its own."""
        require(name in PARTS, f"unknown stage {name!r}; the stages are {', '.join(STAGES)}")
        return getattr(self, name)
