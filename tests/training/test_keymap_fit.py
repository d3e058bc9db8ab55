import numpy as np
import pygame

from nanogenie.envs import make_env
from nanogenie.play.keymap import parse_keymap
from nanogenie.training.keymap_fit import ACTION_KEYS, keymap_toml, majority_codes

SONIC = ["idle", "left", "right", "jump", "left+jump", "right+jump", "down"]


def _synthetic_labels(true_to_latent: dict[int, int], noise: float, n: int = 3000, seed: int = 0):
    """True actions with latent codes that follow a fixed map, except a `noise` share of random codes."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, len(true_to_latent), size=n)
    latent = np.array([true_to_latent[t] for t in truth])
    flip = rng.random(n) < noise
    latent[flip] = rng.integers(0, 8, size=flip.sum())
    truth[::97] = -1  # unknown actions must be ignored
    return truth, latent


def held(*names: str) -> set[int]:
    return {pygame.key.key_code(n) for n in names}


def test_majority_vote_recovers_the_map_under_noise():
    mapping = {0: 7, 1: 2, 2: 5, 3: 0, 4: 1, 5: 3, 6: 6}
    truth, latent = _synthetic_labels(mapping, noise=0.4)
    assert majority_codes(truth, latent, SONIC) == {SONIC[t]: c for t, c in mapping.items()}


def test_unseen_actions_get_no_binding():
    codes = majority_codes(np.array([0, 0, 2]), np.array([4, 4, 1]), SONIC)
    assert codes == {"idle": 4, "right": 1}


def test_fitted_sonic_keymap_parses_and_plays_the_fitted_codes():
    mapping = {0: 7, 1: 2, 2: 5, 3: 0, 4: 1, 5: 3, 6: 6}
    truth, latent = _synthetic_labels(mapping, noise=0.1)
    text = keymap_toml(majority_codes(truth, latent, SONIC), num_actions=8)
    keymap = parse_keymap(text, num_actions=8)
    assert keymap.idle == 7
    assert keymap.resolve(held("right"))[0] == 5
    assert keymap.resolve(held("right", "space"))[0] == 3  # the chord beats "right" alone
    assert keymap.resolve(held("left", "up"))[0] == 1
    assert keymap.resolve(held("down"))[0] == 6
    assert keymap.resolve(set())[0] == 7


def test_pong_keymap_binds_up_and_down():
    names = ["idle", "up", "down"]
    text = keymap_toml(majority_codes(np.array([0, 1, 2, 1]), np.array([3, 0, 1, 0]), names), num_actions=4)
    keymap = parse_keymap(text, num_actions=4)
    assert keymap.idle == 3
    assert keymap.resolve(held("up"))[0] == 0
    assert keymap.resolve(held("s"))[0] == 1


def test_every_simulator_action_has_keys():
    for env in ("sonic", "pong"):
        for name in make_env(env, 16).action_names:
            assert name == "idle" or name in ACTION_KEYS, f"{env} action {name!r} has no key"


def test_no_true_actions_gives_no_keymap():
    assert keymap_toml({}, num_actions=8) is None
