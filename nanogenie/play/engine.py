"""The inference engine: a world's prompt in, one frame out per action, at constant cost per frame.

Synchronous and single-threaded: the play app calls it from its engine thread. Per step:
MaskGIT over the new frame's tokens with the dynamics' temporal KV cache, a commit pass that writes the
finished frame into the cache, then the tokenizer decoder (per-frame, or through its own KV cache when
the tokenizer's decoder is temporal). With `decode` "expected" the picture is decoded from each token's
expected code (models/maskgit.py) while the cache still receives the sampled tokens.

Context actions: the prompt frames come without actions, so the LAM infers the actions between them
once, at construction; the first generated frame is conditioned on the player's first action. The LAM
reads the world's own frames again when a held key owns several latent actions (`code_for`).

CUDA: the models run in bf16 (the sampler works on fp32 logits) and the whole per-frame step (K MaskGIT
steps, the commit and the decode) is captured once as a CUDA graph over static buffers (action id,
noise, caches; positions live in the cache as device tensors) and replayed. Capture is lazy, in the
first `step()`, so it happens on the thread that steps (CUDA graphs and streams are per thread).
The noise is drawn eagerly from the engine's seeded generator before each frame, in both eager and graph
mode, so the same seed gives the same frames either way. CPU: the same cached step in fp32, eager, or with
`compile` the dynamics' two per-frame passes (a MaskGIT step's logits, the commit) and the tokenizer's
decoder (transformer and pixel head) compiled by torch.compile on the first step (~40 s once per process;
the frames are the same, tested). The sampler and the code lookup stay eager: they are cheap, and
inductor cannot compile the whole frame at once (docs/lab/NOTES.md, "Play speed: compiling the decoder").
"""

from __future__ import annotations

import collections
import copy
import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from nanogenie.data.pixels import to_model, to_stored
from nanogenie.device import model_dtype, resolve_device, torch_threads
from nanogenie.errors import UserError
from nanogenie.models.generate import FrameGenerator
from nanogenie.models.st_transformer import KVCache
from nanogenie.world import World


def use_play_threads() -> int:
    """Set and return torch's thread count for play: all cores but one (device.torch_threads says why)."""
    threads, = torch_threads("play")
    torch.set_num_threads(threads)
    return threads


class Engine:
    def __init__(self, world: World, device: str = "auto", maskgit_steps: int | None = None,
                 temperature: float | None = None, seed: int = 0, compile: bool = False, decode: str | None = None):
        self.world = world
        self.device = resolve_device(device)
        # what the command shows the user (the engine itself prints nothing)
        self.device_name = self.device + (f" ({torch.cuda.get_device_name()})" if self.device == "cuda" else "")
        self.num_actions = world.num_actions
        self.fps = world.fps
        self.frame_size = world.config.tokenizer.image_size
        self.seed = seed
        self.last_ms = 0.0
        dyn_cfg = world.config.dynamics
        steps = dyn_cfg.maskgit_steps if maskgit_steps is None else maskgit_steps
        if not 1 <= steps <= dyn_cfg.tokens_per_frame:
            raise UserError(f"MaskGIT steps must be between 1 and {dyn_cfg.tokens_per_frame} (tokens per frame), "
                            f"got {steps}")
        temperature = dyn_cfg.temperature if temperature is None else temperature
        if temperature < 0:
            raise UserError(f"temperature must be >= 0, got {temperature}")
        self.decode = dyn_cfg.decode if decode is None else decode
        if self.decode not in ("sampled", "expected"):
            raise UserError(f"decode must be 'sampled' or 'expected', got {self.decode!r}")

        # Own copies: the world's modules stay as loaded (fp32, their device) for whoever else uses them.
        tokenizer = copy.deepcopy(world.tokenizer).to(self.device).eval()
        lam = copy.deepcopy(world.lam).to(self.device).eval()
        prompt = world.prompt[-dyn_cfg.context_frames:]
        with torch.no_grad():  # prompt tokens and actions once, in fp32
            frames = to_model(prompt)[None].to(self.device)  # (1, T0, 3, H, W)
            self._prompt_tokens = tokenizer.encode(frames)  # (1, T0, P)
            self._prompt_actions = lam.infer_actions(frames) if len(prompt) > 1 else \
                torch.zeros(1, 0, dtype=torch.long, device=self.device)  # (1, T0-1)
        self._prompt_last = np.ascontiguousarray(prompt[-1])
        self.lam = lam
        # the frames the LAM reads the last transition from: its history and the newest frame, uint8 (H, W, 3)
        self._recent: collections.deque[np.ndarray] = collections.deque(maxlen=lam.cfg.history_frames + 1)
        self._prompt_recent = [np.ascontiguousarray(f) for f in prompt[-self._recent.maxlen:]]
        # (V, d) fp32 every code's FSQ values, the expected code's terms; None: the picture shows the tokens
        self._code_values = tokenizer.fsq.all_codes() if self.decode == "expected" else None
        dtype = model_dtype(self.device)
        self.tokenizer = tokenizer.to(dtype)
        self.dynamics = copy.deepcopy(world.dynamics).to(self.device, dtype).eval()
        self.compiled = compile and self.device != "cuda"  # on CUDA the captured graph removes the overheads
        if self.compiled:
            self.dynamics.frame_logits = torch.compile(self.dynamics.frame_logits, dynamic=False)
            self.dynamics.commit_frame = torch.compile(self.dynamics.commit_frame, dynamic=False)
            self.tokenizer.decoder = torch.compile(self.tokenizer.decoder, dynamic=False)
            self.tokenizer.pixel_head = torch.compile(self.tokenizer.pixel_head, dynamic=False)
        self.generator = FrameGenerator(self.dynamics, steps, temperature, use_cache=True)
        self.decoder_cache = (self.tokenizer.new_decoder_cache(1, self.device, dtype)
                              if self.tokenizer.decoder_temporal else None)
        self.rng = torch.Generator(device=self.device)
        self.use_cuda_graph = self.device == "cuda"  # set False before the first step to stay eager
        self._graph: torch.cuda.CUDAGraph | None = None
        self._static_action = torch.zeros(1, dtype=torch.long, device=self.device)
        self._static_noise = torch.zeros(self.generator.sampler.noise_shape(1), device=self.device)
        self._static_frame: Tensor | None = None
        self.reset()

    @torch.no_grad()
    def reset(self) -> np.ndarray:
        """Back to the prompt, reseeded; returns the last prompt frame (H, W, 3) uint8."""
        self.rng.manual_seed(self.seed)
        self._recent.clear()
        self._recent.extend(self._prompt_recent)
        self.generator.reset(self._prompt_tokens, self._prompt_actions)
        if self.decoder_cache is not None:
            self.decoder_cache.reset()
            for t in range(self._prompt_tokens.shape[1]):
                self.tokenizer.decode_step(self._prompt_tokens[:, t], self.decoder_cache)
                self.decoder_cache.advance()
        return self._prompt_last.copy()

    @torch.no_grad()
    def step(self, action: int) -> np.ndarray:
        """The next frame (H, W, 3) uint8 after `action` in [0, num_actions)."""
        if isinstance(action, bool) or not isinstance(action, (int, np.integer)) \
                or not 0 <= action < self.num_actions:
            raise UserError(f"action {action!r} is out of range: world {self.world.name!r} has actions "
                            f"0..{self.num_actions - 1}; fix the keymap or the --actions list")
        start = time.perf_counter()
        noise = self.generator.sampler.draw_noise(1, self.device, self.rng)
        self._static_noise.copy_(noise)
        self._static_action.fill_(int(action))
        if self.use_cuda_graph:
            if self._graph is None:
                self._capture()
            self._graph.replay()
            frame = self._static_frame
        else:
            frame = self._frame_from_static()
        out = frame.cpu().numpy()  # waits for the device
        self.last_ms = (time.perf_counter() - start) * 1000
        self._recent.append(out)
        return out

    @torch.no_grad()
    def code_for(self, codes: Sequence[int]) -> int:
        """The latent action a held key that owns `codes` plays next: the one the LAM reads from the transition
        the world just drew, when it is one of them (the world is already in the state that code stands for),
        else the first. One small LAM pass, only for a key with several codes."""
        if len(codes) > 1 and len(self._recent) > 1:
            frames = to_model(np.stack(self._recent))[None].to(self.device)  # (1, T, 3, H, W)
            read = int(self.lam.infer_actions(frames)[0, -1])
            if read in codes:
                return read
        return int(codes[0])

    def _frame_from_static(self) -> Tensor:
        """Everything a frame needs, reading only the static buffers: (H, W, 3) uint8 on the device."""
        tokens, expected = self.generator.generate_expected(self._static_action, self._static_noise,
                                                            self._code_values)  # (1, P), (1, P, d) or None
        pixels = self._picture(tokens, expected, self.decoder_cache)[0]  # (3, H, W) in [-1, 1]
        if self.decoder_cache is not None:
            self.decoder_cache.advance()
        return to_stored(pixels)

    @torch.no_grad()
    def explore(self, frames: int = 4, actions: Sequence[int] | None = None) -> np.ndarray:
        """What-if futures from the current state, leaving the live game as it was: (N, frames, H, W, 3)
        uint8, row i holding `actions[i]` (default: every latent action) for `frames` steps.

        The futures run as one batch of N on copies of the caches (the live ones are only read) and draw
        their noise from a copy of the live generator, one draw per frame shared by every row: the rows
        differ only by their action, and row a is what holding a would show next (up to the rounding of
        a batched matmul). Eager always: on CUDA the captured graph owns the batch-1 buffers; with
        `compile`, the first exploration compiles the batch-N shapes once."""
        actions = list(range(self.num_actions)) if actions is None else [int(a) for a in actions]
        if not actions or not all(0 <= a < self.num_actions for a in actions):
            raise UserError(f"explore: actions {actions} must be 0..{self.num_actions - 1} for this world")
        n = len(actions)
        rng = torch.Generator(device=self.device)
        rng.set_state(self.rng.get_state())
        cache = _branch(self.generator.cache, n)
        decoder_cache = _branch(self.decoder_cache, n) if self.decoder_cache is not None else None
        chosen = torch.tensor(actions, dtype=torch.long, device=self.device)
        sampler, out = self.generator.sampler, []
        for _ in range(frames):
            noise = sampler.draw_noise(1, self.device, rng).repeat(1, 1, n, 1)  # (K, 2, N, P): the same for all
            tokens, expected = sampler.sample_expected(lambda t: self.dynamics.frame_logits(t, chosen, cache), noise,
                                                       self._code_values)  # (N, P), (N, P, d) or None
            self.dynamics.commit_frame(tokens, chosen, cache)
            out.append(to_stored(self._picture(tokens, expected, decoder_cache)))  # (N, H, W, 3)
            if decoder_cache is not None:
                decoder_cache.advance()
        return torch.stack(out, dim=1).cpu().numpy()

    def _picture(self, tokens: Tensor, expected: Tensor | None, decoder_cache: KVCache | None) -> Tensor:
        """A new frame's tokens (B, P), or their expected codes (B, P, d) when given -> pixels (B, 3, H, W)."""
        if expected is None:
            return self.tokenizer.decode_step(tokens, decoder_cache)
        return self.tokenizer.decode_codes_step(expected, decoder_cache)

    def _caches(self) -> list:
        return [c for c in (self.generator.cache, self.decoder_cache) if c is not None]

    def _capture(self) -> None:
        """Warm up on a side stream (lazy inits, allocator), restore the caches, then capture one frame."""
        saved = [[t.clone() for t in (*c.keys, *c.values, c.frame_of_slot, c.position)] for c in self._caches()]
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                self._frame_from_static()
        torch.cuda.current_stream().wait_stream(side)
        for cache, tensors in zip(self._caches(), saved):  # warm-up wrote frames: put the state back
            for live, kept in zip((*cache.keys, *cache.values, cache.frame_of_slot, cache.position), tensors):
                live.copy_(kept)
        self._graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self._graph):
            self._static_frame = self._frame_from_static()


def _branch(cache: KVCache, copies: int) -> KVCache:
    """A batch of `copies` of a batch-1 cache: rows are (batch, token) batch-major, so repeat the block."""
    branch = copy.copy(cache)
    branch.keys = [k.repeat(copies, 1, 1, 1) for k in cache.keys]
    branch.values = [v.repeat(copies, 1, 1, 1) for v in cache.values]
    branch.frame_of_slot, branch.position = cache.frame_of_slot.clone(), cache.position.clone()
    return branch


def median_ms_per_frame(engine: Engine, frames: int) -> float:
    """The one measure of play speed (bench and eval): the median time of Engine.step over `frames`
    steps, after a full context of warm-up steps (which also capture the CUDA graph)."""
    engine.reset()
    for i in range(engine.world.config.dynamics.context_frames + 2):
        engine.step(i % engine.num_actions)
    timings = []
    for i in range(frames):
        engine.step(i % engine.num_actions)
        timings.append(engine.last_ms)
    return float(np.median(timings))

