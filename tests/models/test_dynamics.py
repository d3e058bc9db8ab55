import dataclasses

import pytest
import torch

from nanogenie.config import preset
from nanogenie.models.dynamics import DynamicsModel
from nanogenie.models.fsq import FSQ


def _dynamics(conditioning="adaln", output="joint", codes="table"):
    torch.manual_seed(0)
    cfg = dataclasses.replace(preset("tiny").dynamics, action_conditioning=conditioning, output=output, codes=codes)
    return DynamicsModel(cfg)


@pytest.mark.parametrize("output, codes", [("joint", "table"), ("channels", "table"), ("joint", "digits"),
                                           ("channels", "digits")])
@pytest.mark.parametrize("clean_context", [True, False])
@pytest.mark.parametrize("conditioning", ["adaln", "add"])
def test_shapes_and_loss(conditioning, clean_context, output, codes):
    dynamics = _dynamics(conditioning, output, codes)
    dynamics.cfg.clean_context = clean_context
    cfg = dynamics.cfg
    tokens = torch.randint(0, cfg.vocab_size, (3, 4, cfg.tokens_per_frame))
    actions = torch.randint(-1, cfg.num_actions, (3, 3))  # -1: unknown
    assert dynamics(tokens, actions).shape == (3, 4, cfg.tokens_per_frame, cfg.vocab_size)
    loss, metrics = dynamics.training_loss(tokens, actions)
    assert loss.ndim == 0 and torch.isfinite(loss) and 0 < metrics["masked_fraction"] <= 1
    loss.backward()
    # the action's first trainable path: AdaLN projections start at zero, then the embedding learns
    first = dynamics.transformer.blocks[0].adaln.weight if conditioning == "adaln" else dynamics.action_embed.weight
    assert first.grad.abs().sum() > 0


def test_mixed_training_covers_clean_context_with_a_masked_last_frame():
    """clean_context off: half the clips are the play case, the others masked in every frame."""
    dynamics = DynamicsModel(dataclasses.replace(preset("tiny").dynamics, clean_context=False))
    tokens = torch.randint(0, dynamics.cfg.vocab_size, (256, 4, dynamics.cfg.tokens_per_frame))
    torch.manual_seed(1)
    inputs, mask = dynamics._training_inputs(tokens)
    context_clean = ~mask[:, :-1].any(dim=(1, 2))
    play_case = context_clean & mask[:, -1].any(dim=1)
    assert 0.3 < play_case.float().mean() < 0.7
    assert mask[play_case, -1].all(dim=1).any()  # some with the last frame fully masked
    assert torch.equal(inputs[mask], torch.full_like(inputs[mask], dynamics.mask_id))
    corrupted = (inputs != tokens) & ~mask
    assert 0 < corrupted.float().mean() < 0.1  # light corruption of visible context


def test_action_conditions_its_own_frame_only():
    dynamics = _dynamics().eval()
    for block in dynamics.transformer.blocks:  # zero-initialised AdaLN: give it weights
        torch.nn.init.normal_(block.adaln.weight, std=0.1)
    cfg = dynamics.cfg
    tokens = torch.randint(0, cfg.vocab_size, (1, 4, cfg.tokens_per_frame))
    actions = torch.tensor([[0, 1, 2]])
    changed = torch.tensor([[0, 3, 2]])  # a_1 conditions frame 2 (and, causally, frame 3)
    out, out_changed = dynamics(tokens, actions), dynamics(tokens, changed)
    assert torch.allclose(out[:, :2], out_changed[:, :2], atol=1e-6)
    assert not torch.allclose(out[:, 2], out_changed[:, 2], atol=1e-4)


def test_moving_weight_falls_on_tokens_next_to_where_the_context_moved():
    cfg = dataclasses.replace(preset("tiny").dynamics, moving_weight=4.0)
    dynamics = DynamicsModel(cfg)
    side = int(cfg.tokens_per_frame ** 0.5)
    tokens = torch.zeros(1, 4, cfg.tokens_per_frame, dtype=torch.long)
    tokens[0, 2, 0] = 1  # a token changes between frames 1 and 2, in the grid's corner
    weights = dynamics._loss_weights(tokens).view(1, 4, side, side)
    assert torch.equal(weights[0, :3], torch.ones(3, side, side))  # frames 0-2: nothing moved before them
    moved = torch.ones(side, side)
    moved[:2, :2] = 4.0  # frame 3: the changed token and its neighbours
    assert torch.equal(weights[0, 3], moved)
    tokens[0, 3] = 5  # the target itself never sets a weight: the predicted distribution stays unbiased
    assert torch.equal(dynamics._loss_weights(tokens)[0, 3].view(side, side), moved)
    loss, _ = dynamics.training_loss(tokens, torch.zeros(1, 3, dtype=torch.long))
    assert torch.isfinite(loss)


@pytest.mark.parametrize("output, spatial_rope", [("joint", False), ("channels", False), ("joint", True)])
def test_clean_context_training_sees_what_play_sees(output, spatial_rope):
    """Each masked target of the two-copy training pass gets the logits play computes for it: the frame
    generated against a KV cache (a window that wraps) of the clean frames before it."""
    torch.manual_seed(0)
    cfg = dataclasses.replace(preset("tiny").dynamics, clean_context=True, context_frames=3, output=output,
                              spatial_rope=spatial_rope)
    dynamics = DynamicsModel(cfg).eval()
    for block in dynamics.transformer.blocks:  # zero-initialised AdaLN: give it weights
        torch.nn.init.normal_(block.adaln.weight, std=0.1)
    frames, p = 6, cfg.tokens_per_frame
    tokens = torch.randint(0, cfg.vocab_size, (2, frames, p))
    frame_actions = dynamics.frame_actions(torch.randint(0, cfg.num_actions, (2, frames - 1)))
    masked = tokens.clone()
    masked[:, :, ::2] = dynamics.mask_id
    positions, frame_mask = dynamics._clean_context_frames(frames, tokens.device)
    inputs = torch.cat((tokens[:, :-1], masked[:, 1:]), dim=1)
    both = torch.cat((frame_actions[:, :-1], frame_actions[:, 1:]), dim=1)
    trained = dynamics.logits(dynamics.hidden(inputs, both, positions, frame_mask=frame_mask)[:, frames - 1:])

    cache = dynamics.new_cache(2, "cpu", torch.float32)
    dynamics.commit_frame(tokens[:, 0], frame_actions[:, 0], cache)
    for t in range(1, frames):
        played = dynamics.frame_logits(masked[:, t], frame_actions[:, t], cache)
        assert torch.allclose(trained[:, t - 1], played, atol=1e-5)
        dynamics.commit_frame(tokens[:, t], frame_actions[:, t], cache)


def test_clean_context_masks_only_targets_and_corrupts_only_context():
    torch.manual_seed(1)
    dynamics = DynamicsModel(dataclasses.replace(preset("tiny").dynamics, clean_context=True, moving_weight=3.0))
    cfg = dynamics.cfg
    tokens = torch.randint(0, cfg.vocab_size, (64, 5, cfg.tokens_per_frame))
    inputs, mask = dynamics._clean_context_inputs(tokens)
    context, targets = inputs[:, :4], inputs[:, 4:]
    assert mask.shape == (64, 4, cfg.tokens_per_frame)
    assert (context != dynamics.mask_id).all() and 0 < (context != tokens[:, :-1]).float().mean() < 0.1
    assert torch.equal(targets[mask], torch.full_like(targets[mask], dynamics.mask_id))
    assert torch.equal(targets[~mask], tokens[:, 1:][~mask])
    assert mask.all(dim=2).any() and 0.5 < mask.float().mean() < 0.95  # some frames fully masked
    loss, metrics = dynamics.training_loss(tokens, torch.randint(0, cfg.num_actions, (64, 4)))
    loss.backward()
    assert torch.isfinite(loss) and dynamics.transformer.blocks[0].adaln.weight.grad.abs().sum() > 0


def test_channel_heads_give_each_code_the_sum_of_its_channels_log_probabilities():
    """levels [4, 4]: code c has digits (c % 4, c // 4) (models/fsq.py's mixed radix, channel 0 first)."""
    dynamics = _dynamics(output="channels")
    cfg = dynamics.cfg
    assert cfg.levels == [4, 4] and cfg.vocab_size == 16 and dynamics.head.out_features == 8
    tokens = torch.randint(0, cfg.vocab_size, (2, 3, cfg.tokens_per_frame))
    log_probs = dynamics(tokens, torch.randint(0, cfg.num_actions, (2, 2)))  # (B, T, P, V)
    assert log_probs.shape == (2, 3, cfg.tokens_per_frame, 16)
    assert torch.allclose(log_probs.logsumexp(-1), torch.zeros(2, 3, cfg.tokens_per_frame), atol=1e-5)
    out = dynamics.head(torch.randn(5, cfg.width))  # (N, 8): channel 0's 4 logits, then channel 1's
    first, second = out[:, :4].log_softmax(-1), out[:, 4:].log_softmax(-1)
    by_hand = torch.stack([first[:, c % 4] + second[:, c // 4] for c in range(16)], dim=-1)
    assert torch.allclose(dynamics._over_codes(out), by_hand, atol=1e-6)


def test_channels_loss_is_the_sum_of_the_channels_cross_entropies():
    """With the head's weights zeroed every token's outputs are its bias, so whatever the masks draw, the
    loss of clips of one code is the cross-entropy of each channel's bias at that code's digit, summed."""
    dynamics = _dynamics(output="channels")
    bias = torch.tensor([0.5, -1.0, 2.0, 0.0, 1.5, 0.3, -0.7, 0.1])
    with torch.no_grad():
        dynamics.head.weight.zero_()
        dynamics.head.bias.copy_(bias)
    code = 9  # digits (1, 2)
    tokens = torch.full((2, 4, dynamics.cfg.tokens_per_frame), code)
    loss, metrics = dynamics.training_loss(tokens, torch.zeros(2, 3, dtype=torch.long))
    by_hand = -(bias[:4].log_softmax(0)[1] + bias[4:].log_softmax(0)[2])
    assert torch.allclose(loss, by_hand, atol=1e-6)
    assert metrics["accuracy"] == 0.0  # the most likely code is (2, 0) = 2, not 9
    with torch.no_grad():
        dynamics.head.bias.copy_(torch.tensor([0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 3.0, 0.0]))  # now (1, 2) leads
    assert dynamics.training_loss(tokens, torch.zeros(2, 3, dtype=torch.long))[1]["accuracy"] == 1.0


def test_a_channels_dynamics_learns():
    torch.manual_seed(0)
    dynamics = _dynamics(output="channels")
    cfg = dynamics.cfg
    clip = torch.randint(0, cfg.vocab_size, (1, 4, cfg.tokens_per_frame))
    tokens = torch.cat((clip, clip.roll(1, dims=2)))  # two clips to learn by heart
    actions = torch.zeros(2, 3, dtype=torch.long)
    optimizer = torch.optim.AdamW(dynamics.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss, _ = dynamics.training_loss(tokens, actions)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.7 * sum(losses[:5]) / 5, losses


def test_digit_codes_share_what_one_code_learns_with_its_neighbours_on_the_grid():
    """With `codes="digits"`, a step on clips that are all one code moves the input vector of a code that
    differs from it in one digit, and leaves alone a code that differs in every digit."""
    dynamics = _dynamics(codes="digits")
    code, neighbour, stranger = 0, 1, dynamics.cfg.vocab_size - 1  # digits all 0; the first 1; all the last
    digits = FSQ(dynamics.cfg.levels).indices_to_digits(torch.tensor([code, neighbour, stranger]))
    assert (digits[0] != digits[1]).sum() == 1 and (digits[0] != digits[2]).all()
    dynamics._corrupted = lambda tokens: tokens  # no random codes in the context
    before = dynamics.code_vectors().detach().clone()
    tokens = torch.full((2, 3, dynamics.cfg.tokens_per_frame), code)
    dynamics.training_loss(tokens, torch.zeros(2, 2, dtype=torch.long))[0].backward()
    torch.optim.SGD(dynamics.parameters(), lr=1.0).step()
    moved = (dynamics.code_vectors().detach() - before).abs().sum(-1)
    assert moved[code] > 0 and moved[neighbour] > 0 and moved[stranger] == 0


def test_digit_codes_built_once_in_eval_mode_follow_the_weights_loaded():
    """In eval mode the code vectors are built once, not at every call; they must be the current weights'
    after loading, and training mode must build them afresh (with gradients) at every call."""
    dynamics, other = _dynamics(codes="digits"), _dynamics(codes="digits")
    with torch.no_grad():
        for p in other.parameters():
            p.add_(torch.randn_like(p))
    dynamics.eval()
    tokens = torch.randint(0, dynamics.cfg.vocab_size, (2, 3, dynamics.cfg.tokens_per_frame))
    actions = torch.zeros(2, 2, dtype=torch.long)
    dynamics.load_state_dict(other.state_dict())
    with torch.no_grad():
        assert torch.equal(dynamics.code_vectors(), dynamics.code_vectors._vectors())
        assert torch.equal(dynamics.head_codes(), dynamics.head_codes._vectors())
        assert torch.equal(dynamics(tokens, actions), other.eval()(tokens, actions))
    dynamics.train()
    assert dynamics.code_vectors.built.numel() == 0 and dynamics.code_vectors().requires_grad
