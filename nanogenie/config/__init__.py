"""Configs: one dataclass per model, one for training (with one per stage), presets, the JSON round trip.

A world bundle stores a `WorldConfig` as JSON (`world.json`), and every model is rebuilt from it, so
a field added here must have a default that keeps old bundles loading.

    checks.py        the checks every value passes (`require_range`...) and the shared upper bounds
    models.py        TokenizerConfig, LAMConfig, DynamicsConfig
    training.py      STAGES, LAM_INVERSE, PARTS, stage_parts, StageConfig, TrainConfig
    world_config.py  WorldConfig, its JSON round trip and `--set` changes
    presets.py       tiny, cpu, gpu
"""

from nanogenie.config.models import DynamicsConfig, LAMConfig, TokenizerConfig
from nanogenie.config.presets import LAM_CPU_STEPS, PRESETS, preset
from nanogenie.config.training import LAM_INVERSE, PARTS, STAGES, StageConfig, TrainConfig, stage_parts
from nanogenie.config.world_config import WorldConfig, with_overrides

__all__ = ["DynamicsConfig", "LAMConfig", "LAM_CPU_STEPS", "LAM_INVERSE", "PARTS", "PRESETS", "STAGES", "StageConfig",
           "TokenizerConfig", "TrainConfig", "WorldConfig", "preset", "stage_parts", "with_overrides"]
