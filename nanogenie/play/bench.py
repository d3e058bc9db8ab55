"""`nanogenie bench`: how fast frames are generated, cached vs recomputed, on this machine.

A frame is the whole play step: K MaskGIT steps, the commit pass and the tokenizer decode, to uint8.
`ms_per_frame` is the cached path once the context is full (constant cost from then on);
`ms_per_frame_uncached` is the same frame with the whole W-frame context recomputed at every MaskGIT step
(the reference path of `FrameGenerator(use_cache=False)`, measured on the first frame after a prompt of
W-1 frames, i.e. at a full W-frame context). `--preset` uses random weights of that preset's shapes;
`--world` measures a trained world's models and also times its `Engine` (graph and eager on CUDA).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import statistics
import sys
import time

import torch

from nanogenie.config import preset
from nanogenie.models.generate import FrameGenerator
from nanogenie.data.pixels import to_stored
from nanogenie.device import model_dtype, resolve_device
from nanogenie.play.engine import Engine, median_ms_per_frame, use_play_threads
from nanogenie.play.keymap import digits_only
from nanogenie.world import build_models, load_world

UNCACHED_REPEATS = 5  # full recomputation is slow: the best of a few frames is enough


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _rss_peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


@torch.no_grad()
def _frame_ms(tokenizer, dynamics, device: str, use_cache: bool, frames: int, steps: int,
              temperature: float) -> float:
    """Best (lowest) ms of one whole frame: generate (cached or not) + decode to uint8."""
    cfg = dynamics.cfg
    generator = FrameGenerator(dynamics, steps, temperature, use_cache=use_cache)
    rng = torch.Generator(device=device).manual_seed(0)
    prompt = torch.randint(0, cfg.vocab_size, (1, cfg.context_frames - 1, cfg.tokens_per_frame),
                           device=device, generator=rng)
    prompt_actions = torch.randint(0, cfg.num_actions, (1, cfg.context_frames - 2), device=device, generator=rng)
    decoder_cache = (tokenizer.new_decoder_cache(1, device, tokenizer.from_code.weight.dtype)
                     if tokenizer.decoder_temporal else None)

    def one_frame() -> float:
        action = torch.randint(0, cfg.num_actions, (1,), device=device, generator=rng)
        _sync(device)
        start = time.perf_counter()
        tokens = generator.step(action, rng)
        pixels = tokenizer.decode_step(tokens, decoder_cache)
        if decoder_cache is not None:
            decoder_cache.advance()
        to_stored(pixels).cpu()
        return (time.perf_counter() - start) * 1000

    timings = []
    if use_cache:  # fill the W-frame context (and a little more), then time steady state
        generator.reset(prompt, prompt_actions)
        for _ in range(cfg.context_frames + 2):
            one_frame()
        timings = [one_frame() for _ in range(frames)]
    else:  # the first frame after a W-1 frame prompt: exactly a full W-frame context to recompute
        for _ in range(UNCACHED_REPEATS + 1):
            generator.reset(prompt, prompt_actions)
            timings.append(one_frame())
        timings = timings[1:]  # the first includes one-off allocations
    return min(timings)


def _measure_models(tokenizer, dynamics, device: str, frames: int) -> dict:
    cfg = dynamics.cfg
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    rss_before = _rss_peak_mb()
    cached = _frame_ms(tokenizer, dynamics, device, True, frames, cfg.maskgit_steps, cfg.temperature)
    uncached = _frame_ms(tokenizer, dynamics, device, False, frames, cfg.maskgit_steps, cfg.temperature)
    peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else _rss_peak_mb() - rss_before
    # the speedup is the ratio of the two times as reported, so a reader who divides them gets it back
    shown, shown_uncached = round(cached, 2), round(uncached, 2)
    return {"device": device, "tokens_per_frame": cfg.tokens_per_frame, "maskgit_steps": cfg.maskgit_steps,
            "context_frames": cfg.context_frames, "ms_per_frame": shown,
            "fps": round(1000 / cached, 1), "ms_per_frame_uncached": shown_uncached,
            "speedup": round(shown_uncached / shown, 1), "peak_mem_mb": round(peak, 1)}


def _engine_fps(world, device: str, frames: int, graph: bool) -> float:
    engine = Engine(world, device=device)
    engine.use_cuda_graph = graph
    return 1000 / median_ms_per_frame(engine, frames)


def _app_figures(engine: Engine, frames: int) -> dict[str, float]:
    """What the play window's HUD shows: `engine` on the runner thread (which starts with a reset),
    unpaced, while the app's main loop handles input and draws every frame at the default 8x scale. In a
    real window when there is a display (under Xvfb too), else on SDL's dummy driver. Medians of the
    last 32 frames shown."""
    from nanogenie.play.app import AppSettings, PlayApp
    from nanogenie.play.runner import EngineRunner

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    warmup = engine.world.config.dynamics.context_frames + 2  # the HUD's window then holds full-context frames
    settings = AppSettings(world=engine.world.name, device=engine.device, num_actions=engine.num_actions,
                           frame_size=engine.frame_size, max_frames=warmup + max(frames, 32), print_controls=False)
    app = PlayApp(EngineRunner(engine, fps=0, action=0), digits_only(engine.num_actions), settings)
    app.run()
    return {"fps_app": round(app.shown_fps(), 1), "app_model_ms": round(statistics.median(app.shown_ms), 1)}


def bench(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    use_play_threads()  # measure with the threads play uses
    torch.manual_seed(0)
    if args.preset:
        config = preset(args.preset)
        tokenizer, _, dynamics = build_models(config, device)
        dtype = model_dtype(device)
        tokenizer, dynamics = tokenizer.to(dtype).eval(), dynamics.to(dtype).eval()
        result = {"preset": args.preset, **_measure_models(tokenizer, dynamics, device, args.frames)}
    else:
        world = load_world(args.world, device)
        dtype = model_dtype(device)
        tokenizer, dynamics = copy.deepcopy(world.tokenizer).to(dtype), copy.deepcopy(world.dynamics).to(dtype)
        result = {"world": world.name, **_measure_models(tokenizer, dynamics, device, args.frames)}
        if device == "cuda":
            result["fps_graph"] = round(_engine_fps(world, device, args.frames, graph=True), 1)
            result["fps_eager"] = round(_engine_fps(world, device, args.frames, graph=False), 1)
            engine = Engine(world, device=device)
        else:  # one engine for both figures: compiled once
            engine = Engine(world, device=device, compile=args.compile)
            result["fps_engine"] = round(1000 / median_ms_per_frame(engine, args.frames), 1)
        result.update(_app_figures(engine, args.frames))
        result["compiled"] = engine.compiled
    result["torch_threads"] = torch.get_num_threads()
    if args.json:
        print(json.dumps(result))
    else:
        width = max(len(k) for k in result)
        for key, value in result.items():
            print(f"{key:<{width}}  {value}")
    return 0
