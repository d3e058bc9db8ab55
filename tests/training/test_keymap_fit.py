import numpy as np
import pygame

from nanogenie.envs import make_env
from nanogenie.play.keymap import parse_keymap
from nanogenie.training.keymap_fit import ACTION_KEYS, fitted_codes, keymap_toml, owned_codes

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
    assert fitted_codes(truth, latent, SONIC, 8) == {SONIC[t]: c for t, c in mapping.items()}


def test_single_controls_never_share_a_code_but_chords_may():
    # idle's codes are spread (its most frequent, 0, is right's); right+jump's majority is jump's code 2
    rows = {"idle": [30, 0, 0, 25, 20, 0, 0, 0], "left": [0, 0, 0, 0, 0, 0, 0, 40], "right": [90, 0, 0, 10, 0, 0, 0, 0],
            "jump": [10, 0, 50, 0, 0, 0, 0, 0], "right+jump": [20, 0, 40, 0, 0, 0, 0, 0], "down": [0, 0, 0, 0, 0, 0, 30, 0]}
    truth = np.concatenate([np.full(sum(r), SONIC.index(n)) for n, r in rows.items()])
    latent = np.concatenate([np.repeat(np.arange(8), r) for r in rows.values()])
    assert fitted_codes(truth, latent, SONIC, 8) == {"idle": 3, "left": 7, "right": 0, "jump": 2, "right+jump": 2,
                                                     "down": 6}


def test_more_controls_than_codes_fall_back_to_the_majority():
    codes = fitted_codes(np.array([0, 0, 1, 2, 2]), np.array([1, 1, 1, 0, 0]), ["idle", "up", "down"], 2)
    assert codes == {"idle": 1, "up": 1, "down": 0}


def test_actions_without_names_are_left_out():
    assert fitted_codes(np.array([0, 1, 5]), np.array([2, 3, 4]), ["idle", "up"], 8) == {"idle": 2, "up": 3}
    assert fitted_codes(np.array([0, 1]), np.array([2, 3]), [], 8) == {}


def test_unseen_actions_get_no_binding():
    codes = fitted_codes(np.array([0, 0, 2]), np.array([4, 4, 1]), SONIC, 8)
    assert codes == {"idle": 4, "right": 1}


def test_fitted_sonic_keymap_parses_and_plays_the_fitted_codes():
    mapping = {0: 7, 1: 2, 2: 5, 3: 0, 4: 1, 5: 3, 6: 6}
    truth, latent = _synthetic_labels(mapping, noise=0.1)
    text = keymap_toml(fitted_codes(truth, latent, SONIC, 8), num_actions=8)
    keymap = parse_keymap(text, num_actions=8)
    assert keymap.idle == 7
    assert keymap.resolve(held("right"))[0] == 5
    assert keymap.resolve(held("right", "space"))[0] == 3  # the chord beats "right" alone
    assert keymap.resolve(held("left", "up"))[0] == 1
    assert keymap.resolve(held("down"))[0] == 6
    assert keymap.resolve(set())[0] == 7


def test_pong_keymap_binds_up_and_down():
    names = ["idle", "up", "down"]
    text = keymap_toml(fitted_codes(np.array([0, 1, 2, 1]), np.array([3, 0, 1, 0]), names, 4), num_actions=4)
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


def test_a_control_the_lam_split_owns_every_code_it_is_the_majority_of():
    # pong-like: idle read as 0, 5 or 7 by where the ball heads; up as 4 or 1; down as 6; code 3 never read
    rows = {"idle": [40, 0, 0, 0, 0, 30, 0, 20], "up": [0, 20, 0, 0, 50, 0, 0, 2], "down": [1, 0, 0, 0, 0, 0, 60, 0]}
    names = list(rows)
    truth = np.concatenate([np.full(sum(r), names.index(n)) for n, r in rows.items()])
    latent = np.concatenate([np.repeat(np.arange(8), r) for r in rows.values()])
    owned = owned_codes(truth, latent, names, 8)
    assert owned == {"idle": (0, 5, 7), "up": (4, 1), "down": (6,)}
    keymap = parse_keymap(keymap_toml(owned, 8), num_actions=8)
    assert keymap.idle_codes == (0, 5, 7) and keymap.resolve_codes(held("w")) == ((4, 1), "w")


def test_chords_keep_one_code_and_true_actions_own_only_themselves():
    codes = owned_codes(np.array([0, 1, 2, 2, 0]), np.array([0, 1, 2, 2, 0]), SONIC, 8)
    assert codes == {"idle": (0,), "left": (1,), "right": (2,)}
    rows = {"idle": [30, 0, 0, 0], "right": [0, 30, 0, 0], "right+jump": [0, 5, 0, 20]}
    truth = np.concatenate([np.full(sum(r), SONIC.index(n)) for n, r in rows.items()])
    latent = np.concatenate([np.repeat(np.arange(4), r) for r in rows.values()])
    assert owned_codes(truth, latent, SONIC, 4) == {"idle": (0,), "right": (1,), "right+jump": (3,)}
