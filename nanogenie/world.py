"""World bundles: the one place that turns a world name into files, and files into models.

A bundle is a folder:
    world.json              name, fps, frame size, |A|, the WorldConfig, data summary, eval figures, keymap
    tokenizer.safetensors   VideoTokenizer weights
    lam.safetensors         LatentActionModel weights
    dynamics.safetensors    DynamicsModel weights
    prompt.npz              `frames`: (T0, H, W, 3) uint8, the frames play starts from
    keymap.toml             optional: the world's own keymap (else keymaps/<world.json keymap>.toml)
    run/                    optional, ignored here: checkpoints, logs and plots of the training run

Resolution of `--world X`: an existing folder X, then the user's trained worlds
($NANOGENIE_HOME/worlds/X, default ~/.nanogenie), then the shipped nanogenie/worlds/X (package data,
so an installed nanogenie finds them too).
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nanogenie.atomic import write_bytes, write_files
from nanogenie.config import STAGES, WorldConfig
from nanogenie.errors import UserError

if TYPE_CHECKING:  # the models (and torch) load only when a world does: `nanogenie --help` stays fast
    from nanogenie.models.dynamics import DynamicsModel
    from nanogenie.models.lam import LatentActionModel
    from nanogenie.models.tokenizer import VideoTokenizer

BUNDLE_FORMAT = 2  # 2: the multi-head forward-model LAM (format 1 bundles must be retrained)
WEIGHT_FILES = STAGES  # one weights file per model, named after its stage
SHIPPED_WORLDS = Path(__file__).resolve().parent / "worlds"
PACKAGED_KEYMAPS = Path(__file__).resolve().parent / "keymaps"


def user_worlds_dir() -> Path:
    """Where `nanogenie train` puts worlds by default."""
    return Path(os.environ.get("NANOGENIE_HOME", Path.home() / ".nanogenie")) / "worlds"


def known_worlds() -> list[str]:
    names = set()
    for root in (user_worlds_dir(), SHIPPED_WORLDS):
        if root.is_dir():
            names.update(p.parent.name for p in root.glob("*/world.json"))
    return sorted(names)


def resolve_world(name_or_path: str | os.PathLike) -> Path:
    """The bundle folder for a world name or path; a UserError listing the known worlds if none."""
    given = Path(name_or_path)
    for candidate in (given, user_worlds_dir() / str(name_or_path), SHIPPED_WORLDS / str(name_or_path)):
        if (candidate / "world.json").is_file():
            return candidate
    if given.is_dir():
        raise UserError(f"{given} has no world.json, so it is not a world bundle; train one with "
                        f"`nanogenie train --world NAME --out {given}`")
    known = ", ".join(known_worlds()) or "none yet"
    raise UserError(f"unknown world {str(name_or_path)!r}; known worlds: {known}. "
                    f"Pass a bundle folder or train one with `nanogenie train --world NAME`")


def resolve_keymap(name_or_path: str | os.PathLike) -> Path:
    """A keymap file path, or a keymap name found among the packaged keymaps."""
    given = Path(name_or_path)
    if given.is_file():
        return given
    packaged = PACKAGED_KEYMAPS / f"{name_or_path}.toml"
    if packaged.is_file():
        return packaged
    names = ", ".join(sorted(p.stem for p in PACKAGED_KEYMAPS.glob("*.toml"))) or "none"
    raise UserError(f"keymap {str(name_or_path)!r} not found; give a .toml file or one of: {names}")


@dataclass
class World:
    """A loaded bundle: config, the three models (eval mode), prompt frames and metadata."""

    path: Path
    name: str
    config: WorldConfig
    meta: dict[str, Any]  # the whole world.json
    tokenizer: VideoTokenizer
    lam: LatentActionModel
    dynamics: DynamicsModel
    prompt: np.ndarray  # (T0, H, W, 3) uint8
    fps: int = 10
    action_names: list[str] = field(default_factory=list)  # true controls of the source data, if known

    @property
    def num_actions(self) -> int:
        return self.config.lam.num_actions

    @property
    def keymap_path(self) -> Path | None:
        own = self.path / "keymap.toml"
        if own.is_file():
            return own
        name = self.meta.get("keymap")
        return resolve_keymap(name) if name else None


def build_models(config: WorldConfig, device: str = "cpu"):
    """Fresh (randomly initialised) tokenizer, LAM and dynamics for a config."""
    from nanogenie.models.dynamics import DynamicsModel
    from nanogenie.models.lam import LatentActionModel
    from nanogenie.models.tokenizer import VideoTokenizer

    return (VideoTokenizer(config.tokenizer).to(device), LatentActionModel(config.lam).to(device),
            DynamicsModel(config.dynamics).to(device))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise UserError(f"{path} is not readable JSON ({err}); re-save the bundle or retrain it") from None


def load_weights(module, path: Path) -> None:
    """Load a safetensors file into a module, strictly, with a one-line error for any mismatch."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise UserError(f"missing weights {path}; the bundle is incomplete, retrain or re-copy it")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise UserError(f"{path} is not a readable safetensors file ({err}); re-copy or retrain the world") from None
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0:2]
        raise UserError(f"{path} does not match the model described by world.json ({' '.join(first)}); "
                        f"the bundle's config and weights come from different runs, retrain it") from None


def load_world(name_or_path: str | os.PathLike, device: str = "cpu") -> World:
    """Resolve and load a world bundle: every model rebuilt from world.json, then its weights."""
    path = resolve_world(name_or_path)
    meta_path = path / "world.json"
    meta = _read_json(meta_path)
    if not isinstance(meta, dict):
        raise UserError(f"{meta_path} must hold a JSON object, not {type(meta).__name__}; re-copy or retrain the world")
    if meta.get("format") != BUNDLE_FORMAT:
        raise UserError(f"{meta_path} has bundle format {meta.get('format')!r}, this nanogenie reads "
                        f"format {BUNDLE_FORMAT}; retrain the world with this version")
    fps = meta.get("fps", 10)
    if not isinstance(fps, int) or isinstance(fps, bool) or not 1 <= fps <= 240:
        raise UserError(f"{meta_path}: fps must be a whole number from 1 to 240, got {fps!r}")
    if not isinstance(meta.get("config"), dict):
        raise UserError(f"{meta_path}: `config` must be an object with the models' settings, got "
                        f"{meta.get('config')!r}; retrain the world")
    try:
        config = WorldConfig.from_dict(meta["config"])
    except UserError as err:
        raise UserError(f"{meta_path}: {err}") from None
    models = build_models(config, "cpu")
    for module, stem in zip(models, WEIGHT_FILES):
        load_weights(module, path / f"{stem}.safetensors")
        module.to(device).eval()
    try:
        prompt = np.load(path / "prompt.npz")["frames"]
    except (OSError, KeyError, ValueError) as err:
        raise UserError(f"{path / 'prompt.npz'} is missing or has no `frames` ({err}); retrain the world") from None
    size = config.tokenizer.image_size
    if prompt.dtype != np.uint8 or prompt.ndim != 4 or prompt.shape[1:] != (size, size, 3):
        raise UserError(f"{path / 'prompt.npz'} frames are {prompt.dtype} {prompt.shape}, expected uint8 "
                        f"(T, {size}, {size}, 3); retrain the world")
    return World(path=path, name=meta.get("name", path.name), config=config, meta=meta,
                 tokenizer=models[0], lam=models[1], dynamics=models[2], prompt=prompt,
                 fps=fps, action_names=[str(a) for a in meta.get("action_names", []) or []])


def _stored(tensor):
    tensor = tensor.detach().to("cpu").contiguous()
    return tensor.half() if tensor.is_floating_point() else tensor


def save_world(world: World, keymap_toml: str | None = None, then: str = "try again") -> Path:
    """Write a World as the bundle folder `world.path`, the mirror of `load_world`: loading it gives back
    the same config, weights, prompt, fps, action names and meta (world.meta may carry "keymap", the
    name of a packaged keymap, and "data", "eval", "training"). `keymap_toml` becomes the bundle's own
    keymap.toml. The files are replaced as one (nanogenie/atomic.py): a failed write, a full disk, leaves
    the old bundle whole. `then`: what a full disk's message says to do next.

    Weights are stored as float16: half the size of a bundle in git, and play computes in fp32 on a CPU
    or bf16 on CUDA from them (loading casts them to the model's dtype). Training checkpoints keep fp32.
    """
    from safetensors.torch import save as save_tensors

    path = Path(world.path)
    files = {}
    for module, stem in zip((world.tokenizer, world.lam, world.dynamics), WEIGHT_FILES):
        files[path / f"{stem}.safetensors"] = save_tensors({k: _stored(v) for k, v in module.state_dict().items()})
    prompt = io.BytesIO()
    np.savez_compressed(prompt, frames=np.asarray(world.prompt, dtype=np.uint8))
    files[path / "prompt.npz"] = prompt.getvalue()
    if keymap_toml is not None:
        files[path / "keymap.toml"] = keymap_toml.encode()
    config = world.config
    meta = {"keymap": None, "data": {}, "eval": {}, **world.meta,
            "format": BUNDLE_FORMAT, "name": world.name, "frame_size": config.tokenizer.image_size, "fps": world.fps,
            "num_actions": config.lam.num_actions, "action_names": list(world.action_names),
            "config": config.to_dict()}
    files[path / "world.json"] = (json.dumps(meta, indent=2) + "\n").encode()  # last: it names the rest
    write_files(files, kept="the bundle there before is unchanged", then=then)
    return path


def update_world_meta(path: str | os.PathLike, then: str = "try again", **fields: Any) -> None:
    """Merge fields into an existing world.json (e.g. eval figures after training)."""
    file = Path(path) / "world.json"
    meta = _read_json(file)
    meta.update(fields)
    write_bytes(file, (json.dumps(meta, indent=2) + "\n").encode(), then=then)
