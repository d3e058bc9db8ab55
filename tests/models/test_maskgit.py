import pytest
import torch

from nanogenie.models.maskgit import MaskGITSampler, reveal_schedule


@pytest.mark.parametrize("tokens,steps", [(16, 2), (16, 4), (256, 4), (256, 8), (64, 1), (8, 8), (5, 4)])
def test_schedule_reveals_every_token_at_least_one_per_step(tokens, steps):
    counts = reveal_schedule(tokens, steps)
    assert len(counts) == steps and sum(counts) == tokens and min(counts) >= 1
    assert all(isinstance(c, int) for c in counts)
    if tokens >= 4 * steps:
        assert counts[0] <= counts[-1]  # cosine: few tokens first, more as the frame fills in


def test_steps_beyond_tokens_rejected():
    with pytest.raises(ValueError):
        reveal_schedule(4, 5)


@pytest.mark.parametrize("temperature", [1.0, 0.0])
def test_sampler_reveals_exactly_the_scheduled_count_per_step(temperature):
    vocab, tokens_per_frame, steps = 10, 16, 4
    sampler = MaskGITSampler(tokens_per_frame, steps, temperature, mask_id=vocab)
    seen_masked = []

    def logits_fn(tokens):
        seen_masked.append((tokens == vocab).sum(dim=1))
        return torch.randn(tokens.shape[0], tokens.shape[1], vocab)

    noise = sampler.draw_noise(3, "cpu", torch.Generator().manual_seed(0))
    frame = sampler.sample(logits_fn, noise)
    expected_masked = [tokens_per_frame]
    for count in sampler.schedule[:-1]:
        expected_masked.append(expected_masked[-1] - count)
    assert [m.tolist() for m in seen_masked] == [[m] * 3 for m in expected_masked]
    assert frame.shape == (3, tokens_per_frame) and frame.max() < vocab and frame.min() >= 0


def test_sampling_follows_the_distribution_and_greedy_takes_the_argmax():
    vocab = 4
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4])
    logits = probs.log().expand(1, 4000, vocab)
    sampler = MaskGITSampler(4000, 1, 1.0, mask_id=vocab)
    frame = sampler.sample(lambda t: logits, sampler.draw_noise(1, "cpu", torch.Generator().manual_seed(0)))
    frequencies = torch.bincount(frame.flatten(), minlength=vocab).float() / 4000
    assert torch.allclose(frequencies, probs, atol=0.03)
    greedy = MaskGITSampler(4000, 1, 0.0, mask_id=vocab)
    assert (greedy.sample(lambda t: logits, greedy.draw_noise(1, "cpu")) == 3).all()


def test_min_p_drops_the_unlikely_codes_and_keeps_the_rest_in_proportion():
    vocab = 5
    probs = torch.tensor([0.02, 0.5, 0.08, 0.3, 0.1])  # min_p 0.15 keeps codes >= 0.075: 1, 2, 3, 4
    logits = probs.log().expand(1, 6000, vocab)
    sampler = MaskGITSampler(6000, 1, 1.0, mask_id=vocab, min_p=0.15)
    frame = sampler.sample(lambda t: logits, sampler.draw_noise(1, "cpu", torch.Generator().manual_seed(0)))
    frequencies = torch.bincount(frame.flatten(), minlength=vocab).float() / 6000
    assert frequencies[0] == 0 and torch.allclose(frequencies, torch.tensor([0.0, 0.5, 0.08, 0.3, 0.1]) / 0.98,
                                                  atol=0.03)
    only_best = MaskGITSampler(6000, 1, 1.0, mask_id=vocab, min_p=0.9)
    assert (only_best.sample(lambda t: logits, only_best.draw_noise(1, "cpu")) == 1).all()


def test_choice_is_random_not_greedy():
    vocab, n = 3, 32
    confident_first = torch.linspace(5, 0, n)  # token i more confident than token i+1
    logits = torch.stack((confident_first, torch.zeros(n), torch.zeros(n)), dim=-1)[None]
    sampler = MaskGITSampler(n, 2, 1.0, mask_id=vocab)
    first_revealed = []
    for seed in range(2):
        calls = []

        def logits_fn(tokens):
            calls.append(tokens.clone())
            return logits

        sampler.sample(logits_fn, sampler.draw_noise(1, "cpu", torch.Generator().manual_seed(seed)))
        first_revealed.append(calls[1] != vocab)
    assert not torch.equal(first_revealed[0], first_revealed[1])


def test_expected_code_is_the_mean_code_under_the_distribution_each_token_was_drawn_from():
    code_values = torch.tensor([[-1.0, 0.5], [0.0, 0.5], [1.0, -1.0], [0.5, 0.0]])  # (V, d)
    logits = torch.tensor([0.1, 0.2, 0.3, 0.4]).log().expand(1, 8, 4)
    sampler = MaskGITSampler(8, 2, 1.0, mask_id=4)
    noise = sampler.draw_noise(1, "cpu", torch.Generator().manual_seed(0))
    tokens, expected = sampler.sample_expected(lambda t: logits, noise, code_values)
    assert torch.equal(tokens, sampler.sample(lambda t: logits, noise))  # the same draws
    assert torch.allclose(expected, torch.tensor([0.4, -0.15]).expand(1, 8, 2))  # 0.1 x -1 + 0.3 x 1 + 0.4 x 0.5...
    cut = MaskGITSampler(8, 2, 1.0, mask_id=4, min_p=0.6)  # keeps the codes >= 0.24: 2 and 3
    _, expected = cut.sample_expected(lambda t: logits, noise, code_values)
    assert torch.allclose(expected, torch.tensor([0.5 / 0.7, -0.3 / 0.7]).expand(1, 8, 2))
    greedy = MaskGITSampler(8, 2, 0.0, mask_id=4)
    tokens, expected = greedy.sample_expected(lambda t: logits, noise, code_values)
    assert (tokens == 3).all() and torch.equal(expected, code_values[tokens])


def test_each_token_takes_the_expected_code_of_the_step_that_revealed_it():
    code_values = torch.tensor([[-1.0], [1.0]])
    sampler = MaskGITSampler(8, 2, 1.0, mask_id=2)
    inputs = []

    def logits_fn(tokens):  # first pass: p(code 1) = 0.25; second pass: 0.75
        inputs.append(tokens.clone())
        return torch.tensor([0.75, 0.25] if len(inputs) == 1 else [0.25, 0.75]).log().expand(1, 8, 2)

    _, expected = sampler.sample_expected(logits_fn, sampler.draw_noise(1, "cpu"), code_values)
    first = inputs[1][0] != 2  # revealed by the first pass
    assert 0 < first.sum() < 8
    assert torch.allclose(expected[0, first, 0], torch.full((int(first.sum()),), -0.5))
    assert torch.allclose(expected[0, ~first, 0], torch.full((int((~first).sum()),), 0.5))
