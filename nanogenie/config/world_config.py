"""WorldConfig, everything that rebuilds a world's models, and its JSON round trip: from a world.json or a
run's config.json, and with `train --set` changes. The only place config values are read from text."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from nanogenie.config.checks import require
from nanogenie.config.models import DynamicsConfig, LAMConfig, TokenizerConfig
from nanogenie.config.training import PARTS, StageConfig, TrainConfig


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
        require(self.train.lam.clip_frames > self.lam.history_frames,
                f"train.lam.clip_frames ({self.train.lam.clip_frames}) must exceed lam.history_frames "
                f"({self.lam.history_frames}): the LAM learns from transitions with their whole history")
        require(self.train.dynamics.clip_frames >= 2, f"train.dynamics.clip_frames must be >= 2 (the dynamics learns "
                                                      f"a frame from the ones before it), got "
                                                      f"{self.train.dynamics.clip_frames}")
        require(self.tokenizer.moving_weight == 1 or self.train.tokenizer.clip_frames >= 2,
                f"tokenizer moving_weight {self.tokenizer.moving_weight} needs train.tokenizer.clip_frames >= 2 "
                f"(moving pixels are found between consecutive frames)")

    def link(self) -> "WorldConfig":
        """Make the shared numbers agree: the dynamics sizes follow the tokenizer and the LAM."""
        self.lam.image_size = self.tokenizer.image_size
        self.dynamics.vocab_size = self.tokenizer.codebook_size
        self.dynamics.levels = list(self.tokenizer.levels)
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
            require(isinstance(section, dict), f"config section {f.name!r} must be an object, got {section!r}")
            given = dict(section)
            if sub_cls is TrainConfig:
                for stage in PARTS:
                    if stage in given:
                        require(isinstance(given[stage], dict), f"config section 'train.{stage}' must be an object, "
                                                                f"got {given[stage]!r}")
                        given[stage] = _build(StageConfig, given[stage], f"train.{stage}")
            parts[f.name] = _build(sub_cls, given, f.name)
        return cls(**parts)


def _build(cls: type, given: dict[str, Any], where: str) -> Any:
    """cls(**given), with unknown fields and values of the wrong type named rather than a TypeError."""
    fields = {g.name: g for g in dataclasses.fields(cls)}
    unknown = set(given) - set(fields)
    require(not unknown, f"unknown {where} config field(s) {sorted(unknown)}; known: {sorted(fields)}")
    for name, value in given.items():
        expected = str(fields[name].type)
        require(_has_type(value, expected), f"config field {where}.{name} must be {expected}, got {value!r}")
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


def with_overrides(cfg: WorldConfig, overrides: list[str]) -> WorldConfig:
    """A copy of cfg with `section.field=value` (or `train.STAGE.field=value`) settings applied, as given to
    `nanogenie train --set`. Values are JSON (`5`, `0.5`, `true`, `[8, 8, 6, 5]`), else taken as text; the
    result is rebuilt and checked like a world.json, so a wrong name or type is a one-line error."""
    d = cfg.to_dict()
    for item in overrides:
        path, sep, text = item.partition("=")
        keys = path.strip().split(".")
        require(bool(sep) and len(keys) >= 2 and all(keys),
                f"--set {item!r} must look like section.field=value, e.g. dynamics.moving_weight=5")
        node = d
        for depth, key in enumerate(keys[:-1]):
            require(isinstance(node.get(key), dict),
                    f"--set {item!r}: no config section {'.'.join(keys[:depth + 1])!r}; "
                    f"sections: {sorted(k for k, v in node.items() if isinstance(v, dict))}")
            node = node[key]
        require(keys[-1] in node, f"--set {item!r}: no field {keys[-1]!r} in {'.'.join(keys[:-1])}; fields: "
                                  f"{sorted(k for k, v in node.items() if not isinstance(v, dict))}")
        try:
            node[keys[-1]] = json.loads(text)
        except ValueError:
            node[keys[-1]] = text
    return WorldConfig.from_dict(d)
