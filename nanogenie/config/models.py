"""The three models' configs: the tokenizer, the latent action model and the dynamics. Each field has a
default that keeps older bundles loading (a world.json stores them all)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from nanogenie.config.checks import (CONTEXT_WHY, MAX_CODES, MAX_CONTEXT_FRAMES, MAX_DEPTH, MAX_IMAGE_SIZE, MAX_WIDTH,
                                     require, require_positive, require_range)


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
        require_range("tokenizer", "image_size", self.image_size, 8, MAX_IMAGE_SIZE, "square frames, in pixels")
        require_range("tokenizer", "patch_size", self.patch_size, 1, self.image_size, "at most the frame")
        require_range("tokenizer", "width", self.width, 1, MAX_WIDTH)
        require_range("tokenizer", "encoder_depth", self.encoder_depth, 1, MAX_DEPTH)
        require_range("tokenizer", "decoder_depth", self.decoder_depth, 1, MAX_DEPTH)
        require_range("tokenizer", "context_frames", self.context_frames, 1, MAX_CONTEXT_FRAMES, CONTEXT_WHY)
        require_positive("tokenizer", heads=self.heads)
        require(bool(self.levels) and all(level >= 2 for level in self.levels),
                f"tokenizer levels must be a non-empty list of numbers >= 2, got {self.levels}")
        require(math.prod(self.levels) <= MAX_CODES, f"tokenizer.levels {self.levels} make {math.prod(self.levels)} "
                                                     f"codes; at most {MAX_CODES}")
        require(self.image_size % self.patch_size == 0,
                f"tokenizer image_size {self.image_size} must be a multiple of patch_size {self.patch_size}")
        require(self.width % self.heads == 0, f"tokenizer width {self.width} must divide by heads {self.heads}")
        require_range("tokenizer", "moving_weight", self.moving_weight, 1, 1000, "1 weighs every pixel alike")
        require(not self.conv_channels or (2 ** len(self.conv_channels) == self.patch_size
                                           and all(1 <= c <= MAX_WIDTH for c in self.conv_channels)),
                f"tokenizer conv_channels needs one positive width per halving of the frame down to a patch "
                f"(log2 patch_size = {self.patch_size.bit_length() - 1} of them), got {self.conv_channels}")
        require(self.encoder in ("transformer", "local"),
                f"tokenizer encoder must be 'transformer' or 'local', got {self.encoder!r}")
        require(self.encoder == "transformer" or not self.encoder_temporal,
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
    history_frames: int = 2  # frames the history's path sees; 2 show velocities, and the player's last move (models/lam.py)
    spread: float = 0.05  # share of the loss spread over every head, so a head that never wins still learns
    reset_after: int = 200  # a head that wins nothing for this many steps restarts as a copy of the busiest
    passive_loss: bool = False  # the history's path learns on every transition, the heads on top (models/lam.py)
    align_shift: int = 0  # the target is shifted by up to this many pixels to meet the history's prediction (models/lam.py)
    resolution: str = "cell"  # heads predict and are scored on "cell" means, "smooth" cells or every "pixel" (models/lam.py)
    hold: float = 0.0  # in training, a head also pays this share of its errors on the neighbouring transitions (models/lam.py)
    # in training, this share of transitions shows the history's path a still past (x_t repeated), so a held key's
    # step cannot ride on the past's motion and the heads learn to draw it alone (models/lam.py)
    still_history: float = 0.0
    effect: str = "add"  # a head "add"s a change per cell, or "shift"s each cell's content by up to max_shift (models/lam.py)
    max_shift: int = 3  # with effect "shift": the farthest a head may move a cell's content, up/down/left/right, pixels
    max_share: float = 1.0  # in training no head wins more than this share of a batch; 1: the best head always wins
    heads_see_position: bool = False  # the heads' net also reads each cell's place on the screen (models/lam.py)
    # the player's colour [R, G, B] (0-255), when the user knows it: the heads are scored only near pixels of that
    # colour, so what the codes explain is the player's move and not things that move on their own (models/lam.py).
    # Empty: the whole frame
    focus: list[int] = field(default_factory=list)
    # after the heads, an inverse model learns to name their codes from x_t-1, x_t, x_t+1, and names them from
    # then on (models/lam.py; its schedule: train.lam_inverse)
    inverse: bool = False

    def __post_init__(self) -> None:
        require_positive("lam", image_size=self.image_size, patch_size=self.patch_size)
        require_range("lam", "reset_after", self.reset_after, 1, 1_000_000, "steps a head may win nothing")
        require_range("lam", "history_frames", self.history_frames, 1, 16)
        require(self.image_size % (2 * self.patch_size) == 0,
                f"lam image_size {self.image_size} (= tokenizer.image_size) must be a multiple of 2 x lam.patch_size "
                f"{self.patch_size}, i.e. of {2 * self.patch_size}")
        require(self.width % 8 == 0 and 0 < self.width <= MAX_WIDTH,
                f"lam width {self.width} must be a positive multiple of 8, at most {MAX_WIDTH}")
        require_range("lam", "num_actions", self.num_actions, 2, 256, "latent actions, one head each")
        require(0 <= self.spread < 1, f"lam spread must be in [0, 1), got {self.spread}")
        require(0 <= self.still_history <= 1, f"lam still_history must be a share in [0, 1], got {self.still_history}")
        require(1 / self.num_actions <= self.max_share <= 1,
                f"lam max_share must be from 1 / num_actions ({1 / self.num_actions:.3f}) to 1, got {self.max_share}")
        require(self.effect in ("add", "shift"), f"lam effect must be 'add' or 'shift', got {self.effect!r}")
        require_range("lam", "max_shift", self.max_shift, 1, self.image_size // 4, "pixels a head may move content")
        require(self.resolution in ("cell", "smooth", "pixel"),
                f"lam resolution must be 'cell', 'smooth' or 'pixel', got {self.resolution!r}")
        require(not self.focus or (len(self.focus) == 3 and all(0 <= c <= 255 for c in self.focus)),
                f"lam focus must be the player's colour as [R, G, B] from 0 to 255, or [] for none, got {self.focus}")
        require(0 <= self.align_shift < self.image_size // 4,
                f"lam align_shift must be in [0, image_size / 4), got {self.align_shift}")


@dataclass
class DynamicsConfig:
    """MaskGIT dynamics over tokens: z_<t, a_<t -> z_t. vocab/tokens/actions come from the other two."""

    vocab_size: int = 1000  # = tokenizer codebook_size
    tokens_per_frame: int = 256  # = tokenizer tokens_per_frame
    num_actions: int = 8  # = lam num_actions
    levels: list[int] = field(default_factory=lambda: [8, 5, 5, 5])  # = tokenizer levels: a code's FSQ channels
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
    # "joint": one softmax over the vocab_size codes. "channels": one per FSQ channel over its levels, so a
    # near miss on the grid costs only the channel it missed; a code's log-probability is the sum of its
    # channels' (models/dynamics.py)
    output: str = "joint"
    # "table": each code has a vector of its own, in the input embedding and in the joint output layer.
    # "digits": a code's vector is the sum of its FSQ digits' vectors plus its own correction (zero at the
    # start), so what is learnt about a code is shared with the codes next to it on the grid
    # (models/dynamics.py). The channel output keeps its own head; there "digits" is the input's alone.
    codes: str = "table"
    # What play and eval draw for a generated token: its "sampled" code, or the "expected" one, the
    # probability-weighted mean of the codes it was drawn from; the KV cache keeps the sampled tokens
    # (models/maskgit.py)
    decode: str = "sampled"
    # spatial attention also sees where tokens stand relative to each other (2D RoPE by row and column), so a
    # sprite's rules learnt in one place of the screen carry to the others (models/st_transformer.py)
    spatial_rope: bool = False

    def __post_init__(self) -> None:
        require_positive("dynamics", heads=self.heads, vocab_size=self.vocab_size,
                         tokens_per_frame=self.tokens_per_frame, num_actions=self.num_actions)
        require_range("dynamics", "width", self.width, 1, MAX_WIDTH)
        require_range("dynamics", "depth", self.depth, 1, MAX_DEPTH)
        require_range("dynamics", "context_frames", self.context_frames, 1, MAX_CONTEXT_FRAMES, CONTEXT_WHY)
        require_range("dynamics", "temperature", self.temperature, 0, 100, "0 samples greedily")
        require(0 <= self.min_p < 1, f"dynamics min_p must be in [0, 1), got {self.min_p}")
        require(self.width % self.heads == 0, f"dynamics width {self.width} must divide by heads {self.heads}")
        require(self.output in ("joint", "channels"),
                f"dynamics output must be 'joint' or 'channels', got {self.output!r}")
        require(self.codes in ("table", "digits"), f"dynamics codes must be 'table' or 'digits', got {self.codes!r}")
        reads_digits = [f"{name} {value!r}" for name, value in (("output", self.output), ("codes", self.codes))
                        if value in ("channels", "digits")]  # the options that read a code as its FSQ digits
        require(not reads_digits or math.prod(self.levels) == self.vocab_size,
                f"dynamics {' and '.join(reads_digits)} needs levels {self.levels} to make vocab_size "
                f"{self.vocab_size} codes (a WorldConfig copies both from the tokenizer)")
        require(self.decode in ("sampled", "expected"),
                f"dynamics decode must be 'sampled' or 'expected', got {self.decode!r}")
        require(self.action_conditioning in ("adaln", "add"),
                f"dynamics action_conditioning must be 'adaln' or 'add', got {self.action_conditioning!r}")
        require_range("dynamics", "maskgit_steps", self.maskgit_steps, 1, min(64, self.tokens_per_frame),
                      "passes per generated frame, each revealing at least one of its tokens")
        require_range("dynamics", "moving_weight", self.moving_weight, 1, 1000, "1 weighs every token alike")
        side = math.isqrt(self.tokens_per_frame)
        require(not self.spatial_rope or side * side == self.tokens_per_frame,
                f"dynamics spatial_rope needs a square token grid, got {self.tokens_per_frame} tokens per frame")
        require(not self.spatial_rope or self.width // self.heads % 4 == 0,
                f"dynamics spatial_rope needs a head width (width / heads) divisible by 4, got {self.width // self.heads}")
        require(self.moving_weight == 1 or side * side == self.tokens_per_frame,
                f"dynamics moving_weight needs a square token grid, got {self.tokens_per_frame} tokens per frame")
