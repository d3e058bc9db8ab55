import dataclasses

import pytest
import torch

from nanogenie.config import preset
from nanogenie.models.maskgit import MaskGITSampler
from nanogenie.models.tokenizer import VideoTokenizer


def _clip(batch=2, frames=4, size=16, seed=0):
    """Flat-colour blocks on a background, moving one pixel per frame: like the game frames."""
    g = torch.Generator().manual_seed(seed)
    clip = torch.full((batch, frames, 3, size, size), -0.6)
    for b in range(batch):
        colour = torch.rand(3, 1, 1, generator=g) * 2 - 1
        top, left = torch.randint(0, size // 2, (2,), generator=g).tolist()
        for t in range(frames):
            clip[b, t, :, top:top + 5, left + t:left + t + 5] = colour
    return clip


STEMS = {"linear patches": {}, "conv stem and head": {"conv_channels": [4, 8]},  # tiny's 4x4 patches: two halvings
         "conv head only": {"conv_channels": [4, 8], "conv_encoder": False},
         "local encoder": {"encoder": "local", "encoder_temporal": False},
         "local encoder, conv head": {"conv_channels": [4, 8], "conv_encoder": False, "encoder": "local",
                                      "encoder_temporal": False}}


@pytest.mark.parametrize("stem", STEMS)
@pytest.mark.parametrize("decoder_temporal", [False, True])
def test_shapes_and_ranges(decoder_temporal, stem):
    cfg = preset("tiny").tokenizer
    cfg = dataclasses.replace(cfg, decoder_temporal=decoder_temporal, **STEMS[stem])
    tokenizer = VideoTokenizer(cfg).eval()
    clip = _clip()
    tokens = tokenizer.encode(clip)
    assert tokens.shape == (2, 4, cfg.tokens_per_frame) and tokens.dtype == torch.long
    assert tokens.min() >= 0 and tokens.max() < cfg.codebook_size
    frames = tokenizer.decode(tokens)
    assert frames.shape == clip.shape and frames.min() >= -1 and frames.max() <= 1


@pytest.mark.parametrize("stem", STEMS)
@pytest.mark.parametrize("decoder_temporal", [False, True])
def test_decode_step_with_cache_equals_decode(decoder_temporal, stem):
    cfg = dataclasses.replace(preset("tiny").tokenizer, decoder_temporal=decoder_temporal, **STEMS[stem])
    torch.manual_seed(0)
    tokenizer = VideoTokenizer(cfg).eval()
    tokens = torch.randint(0, cfg.codebook_size, (1, 6, cfg.tokens_per_frame))  # longer than the window
    cache = tokenizer.new_decoder_cache(1, "cpu", torch.float32)
    with torch.no_grad():
        full = tokenizer._decode_codes(tokenizer.fsq.indices_to_codes(tokens)).clamp(-1, 1)
        for t in range(6):
            assert torch.allclose(tokenizer.decode_step(tokens[:, t], cache), full[:, t], atol=1e-5)
            cache.advance()


def test_decoding_the_expected_code_of_a_one_hot_distribution_is_decoding_its_token():
    """A token drawn with certainty (a one-hot distribution) has its own code as its expected code, so the
    picture decoded from expected codes is the one decoded from the tokens; an uncertain one lands between."""
    torch.manual_seed(0)
    cfg = preset("tiny").tokenizer
    tokenizer = VideoTokenizer(cfg).eval()
    p, codes = cfg.tokens_per_frame, cfg.codebook_size
    wanted = torch.randint(0, codes, (1, p))
    one_hot = torch.full((1, p, codes), -torch.inf).scatter(2, wanted[..., None], 0.0)  # logits
    sampler = MaskGITSampler(p, 2, 1.0, mask_id=codes)
    tokens, expected = sampler.sample_expected(lambda t: one_hot, sampler.draw_noise(1, "cpu"), tokenizer.fsq.all_codes())
    assert torch.equal(tokens, wanted) and torch.equal(expected, tokenizer.fsq.indices_to_codes(wanted))
    with torch.no_grad():
        assert torch.equal(tokenizer.decode_codes_step(expected), tokenizer.decode_step(tokens))
        assert torch.equal(tokenizer.decode_codes(expected[:, None]), tokenizer.decode(tokens[:, None]))
        halfway = (tokenizer.fsq.indices_to_codes(wanted) + tokenizer.fsq.indices_to_codes(wanted.roll(1))) / 2
        assert not torch.equal(tokenizer.decode_codes_step(halfway), tokenizer.decode_step(tokens))


@pytest.mark.parametrize("stem", STEMS)
def test_training_overfits_one_clip(stem):
    torch.manual_seed(0)
    tokenizer = VideoTokenizer(dataclasses.replace(preset("tiny").tokenizer, **STEMS[stem]))
    clip = _clip()
    optimizer = torch.optim.AdamW(tokenizer.parameters(), lr=3e-3)
    _, first = tokenizer.training_loss(clip)
    for _ in range(40):
        loss, metrics = tokenizer.training_loss(clip)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert set(first) >= {"loss", "psnr", "code_usage"}
    assert 0 < metrics["code_usage"] <= 1
    assert metrics["psnr"] > first["psnr"] + 6, (first, metrics)


def test_moving_pixels_weigh_more_in_both_frames_of_a_change():
    cfg = dataclasses.replace(preset("tiny").tokenizer, moving_weight=5.0)
    tokenizer = VideoTokenizer(cfg)
    clip = _clip(batch=1, frames=3)
    clip[:, 2] = clip[:, 1]  # the block stops: the last step changes nothing
    weights = tokenizer._pixel_weights(clip)[0, :, 0]  # (T, H, W)
    moved = (clip[0, 1] != clip[0, 0]).any(dim=0)  # the block's leading and trailing columns
    assert moved.any() and not moved.all()
    assert torch.equal(weights[0] == 5, moved) and torch.equal(weights[1] == 5, moved)
    assert torch.all(weights[2] == 1)
    assert set(weights.unique().tolist()) == {1.0, 5.0}


def test_moving_weight_changes_the_loss_only_where_something_moves():
    torch.manual_seed(0)
    plain = VideoTokenizer(preset("tiny").tokenizer)
    weighted = VideoTokenizer(dataclasses.replace(plain.cfg, moving_weight=5.0))
    weighted.load_state_dict(plain.state_dict())
    still = _clip(batch=1, frames=1).expand(1, 2, -1, -1, -1)  # the same frame twice
    assert torch.allclose(plain.training_loss(still)[0], weighted.training_loss(still)[0])
    moving = _clip()
    assert not torch.allclose(plain.training_loss(moving)[0], weighted.training_loss(moving)[0])


@pytest.mark.parametrize("encoder_temporal", [False, True])
def test_per_frame_encoder_ignores_other_frames(encoder_temporal):
    # encoder_temporal=False (the cpu preset) makes a frame's tokens a function of that frame alone, so
    # training on single frames and encoding whole clips give the same tokens.
    cfg = dataclasses.replace(preset("tiny").tokenizer, encoder_temporal=encoder_temporal)
    torch.manual_seed(0)
    tokenizer = VideoTokenizer(cfg).eval()
    clip = _clip(batch=1, frames=4)
    changed = clip.clone()
    changed[:, 0] = -changed[:, 0]  # a different first frame
    whole, with_changed_past = tokenizer.encode(clip), tokenizer.encode(changed)
    assert torch.equal(whole[:, :1], tokenizer.encode(clip[:, :1]))  # causal either way
    later_equal = torch.equal(whole[:, 1:], with_changed_past[:, 1:])
    assert later_equal == (not encoder_temporal)
    if not encoder_temporal:
        singles = torch.cat([tokenizer.encode(clip[:, t:t + 1]) for t in range(4)], dim=1)
        assert torch.equal(whole, singles)


@pytest.mark.parametrize("encoder", ["local", "transformer"])
def test_local_encoder_changes_only_the_token_of_the_changed_patch(encoder):
    # The point of encoder="local": a sprite moving over a still background changes the tokens it covers
    # and no others. A transformer encoder, even per frame, spreads the change through spatial attention.
    cfg = dataclasses.replace(preset("tiny").tokenizer, encoder=encoder, encoder_temporal=False)
    torch.manual_seed(0)
    tokenizer = VideoTokenizer(cfg).eval()
    clip = _clip(batch=1, frames=1)
    changed = clip.clone()
    p = cfg.patch_size
    changed[..., :p, :p] = 1.0  # the top-left patch turns white
    with torch.no_grad():
        features = [tokenizer._encode_features(x) for x in (clip, changed)]  # (1, 1, P, d) before quantisation
    moved = (features[0] - features[1]).abs().amax(dim=-1)[0, 0]  # (P,)
    assert moved[0] > 0
    assert (moved[1:] == 0).all() == (encoder == "local")
    tokens, changed_tokens = tokenizer.encode(clip), tokenizer.encode(changed)
    if encoder == "local":
        assert torch.equal(tokens[..., 1:], changed_tokens[..., 1:])
