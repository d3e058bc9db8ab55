import dataclasses

import pytest
import torch

from nanogenie.config import preset
from nanogenie.models.dynamics import DynamicsModel
from nanogenie.models.generate import FrameGenerator


def _dynamics(conditioning="adaln", context_frames=4, output="joint", spatial_rope=False):
    torch.manual_seed(0)
    cfg = dataclasses.replace(preset("tiny").dynamics, action_conditioning=conditioning,
                              context_frames=context_frames, output=output, spatial_rope=spatial_rope)
    dynamics = DynamicsModel(cfg).eval()
    with torch.no_grad():  # trained-like: actions matter and logits are peaked enough to vary by context
        for block in dynamics.transformer.blocks:
            if block.adaln is not None:
                block.adaln.weight.normal_(std=0.1)
        dynamics.head.weight.mul_(4)
    return dynamics


def _rollout(dynamics, use_cache, prompt, prompt_actions, actions, seed=0, steps=3):
    generator = FrameGenerator(dynamics, maskgit_steps=steps, temperature=1.0, use_cache=use_cache)
    generator.reset(prompt, prompt_actions)
    rng = torch.Generator().manual_seed(seed)
    return torch.stack([generator.step(a, rng) for a in actions], dim=1), generator


@pytest.mark.parametrize("conditioning, output, spatial_rope", [("adaln", "joint", False), ("add", "joint", False),
                                                                ("adaln", "channels", False), ("adaln", "joint", True)])
@pytest.mark.parametrize("prompt_frames", [1, 3, 7])
def test_cached_equals_uncached_past_the_context_window(conditioning, output, spatial_rope, prompt_frames):
    dynamics = _dynamics(conditioning, output=output, spatial_rope=spatial_rope)
    cfg = dynamics.cfg
    prompt = torch.randint(0, cfg.vocab_size, (2, prompt_frames, cfg.tokens_per_frame))
    prompt_actions = torch.randint(0, cfg.num_actions, (2, prompt_frames - 1))
    actions = torch.randint(0, cfg.num_actions, (14, 2))  # 14 frames: several times the window of 4
    cached, generator = _rollout(dynamics, True, prompt, prompt_actions, actions)
    uncached, _ = _rollout(dynamics, False, prompt, prompt_actions, actions)
    assert cached.shape == (2, 14, cfg.tokens_per_frame)
    assert torch.equal(cached, uncached)
    assert generator.cache.position.item() == prompt_frames + 14


def test_generation_depends_on_seed_actions_and_context():
    dynamics = _dynamics()
    cfg = dynamics.cfg
    prompt = torch.randint(0, cfg.vocab_size, (1, 3, cfg.tokens_per_frame))
    prompt_actions = torch.zeros(1, 2, dtype=torch.long)
    actions = torch.zeros(6, 1, dtype=torch.long)
    base, _ = _rollout(dynamics, True, prompt, prompt_actions, actions)
    assert torch.equal(base, _rollout(dynamics, True, prompt, prompt_actions, actions)[0])
    assert not torch.equal(base, _rollout(dynamics, True, prompt, prompt_actions, actions, seed=1)[0])
    assert not torch.equal(base, _rollout(dynamics, True, prompt, prompt_actions, actions + 2)[0])
    # the context is used: a different prompt changes the logits of the first generated frame
    other = torch.randint(0, cfg.vocab_size, prompt.shape)
    logits = []
    for p in (prompt, other):
        generator = FrameGenerator(dynamics, 3, 1.0)
        generator.reset(p, prompt_actions)
        masked = torch.full((1, cfg.tokens_per_frame), dynamics.mask_id)
        logits.append(dynamics.frame_logits(masked, actions[0], generator.cache))
    assert not torch.allclose(logits[0], logits[1], atol=1e-4)


def test_cache_memory_is_flat_past_the_window():
    dynamics = _dynamics()
    cfg = dynamics.cfg
    generator = FrameGenerator(dynamics, 2, 1.0)
    generator.reset(torch.randint(0, cfg.vocab_size, (1, 2, cfg.tokens_per_frame)), torch.zeros(1, 1, dtype=torch.long))
    cache = generator.cache
    before = [(t.data_ptr(), t.shape) for t in cache.keys + cache.values]
    for _ in range(3 * cfg.context_frames):
        generator.step(torch.tensor([1]))
    assert [(t.data_ptr(), t.shape) for t in cache.keys + cache.values] == before
    generator.reset(torch.randint(0, cfg.vocab_size, (1, 2, cfg.tokens_per_frame)), torch.zeros(1, 1, dtype=torch.long))
    assert generator.cache is cache and [(t.data_ptr(), t.shape) for t in cache.keys + cache.values] == before
