import numpy as np

from nanogenie.envs import make_env
from nanogenie.envs.sonic_art import PALETTE
from nanogenie.eval.probes import (CORE, MIN_PIXELS, PLACE, TOLERANCE, hero_counts, hero_outcomes, hero_places, heroes,
                                   placed)

SKIN = np.array(PALETTE["S"])


def test_heroes_counts_skin_blobs_big_enough_and_joins_nearby_parts():
    frame = np.zeros((32, 32, 3), np.uint8)
    assert heroes(frame, SKIN) == 0
    frame[2:5, 2:5] = SKIN  # one hero
    frame[3, 7] = SKIN  # 2 pixels of background away: part of the same sprite
    frame[20:23, 20:23] = SKIN  # a second hero
    assert heroes(frame, SKIN) == 2
    speck = np.zeros((32, 32, 3), np.uint8)
    speck[10, 10:10 + MIN_PIXELS - 1] = SKIN
    assert heroes(speck, SKIN) == 0


def test_a_blob_only_near_the_skin_colour_is_not_a_hero():
    """A decoded ring blurred into the sky comes within TOLERANCE of the skin colour but never within CORE."""
    frame = np.zeros((32, 32, 3), np.uint8)
    frame[2:5, 2:5] = SKIN + [0, 0, (CORE + TOLERANCE) // 2]  # every pixel's blue off by more than CORE
    assert heroes(frame, SKIN) == 0
    frame[3, 3] = SKIN + [0, 0, CORE]  # exactly CORE away: still not close enough
    assert heroes(frame, SKIN) == 0
    frame[3, 3] = SKIN + [0, 0, CORE - 1]  # as close as most of the hero's own decoded skin
    assert heroes(frame, SKIN) == 1


def test_hero_outcomes_count_matches_and_what_went_wrong():
    one, two, none = (np.zeros((32, 32, 3), np.uint8) for _ in range(3))
    one[2:5, 2:5] = SKIN
    two[2:5, 2:5] = two[20:23, 20:23] = SKIN
    truth = np.stack([one, one, one, two])
    drawn = np.stack([one, none, two, two])
    # matched: frames 0 and 3; one hero in the truth: frames 0-2, of which frame 1 drawn with none, frame 2 with two
    assert hero_outcomes(hero_counts(truth, SKIN), hero_counts(drawn, SKIN)).sum(0).tolist() == [2, 3, 1, 1]


def test_placed_counts_one_hero_drawn_near_the_simulators_and_nothing_else():
    def frame(*corners):
        image = np.zeros((32, 32, 3), np.uint8)
        for y, x in corners:
            image[y:y + 3, x:x + 3] = SKIN
        return image
    truth = np.stack([frame((2, 2))] * 4 + [frame((2, 2), (20, 20))])
    drawn = np.stack([frame((2, 2 + PLACE)), frame((2, 3 + PLACE)), frame(), frame((2, 2), (20, 20)),
                      frame((2, 2), (20, 20))])
    assert hero_places(drawn[0], SKIN) == [(3.0, 3.0 + PLACE)]  # the centre of its skin pixels
    # one hero in the truth: frames 0-3; placed: frame 0 (PLACE away), not 1 (farther), 2 (none) or 3 (two)
    assert placed(truth, drawn, SKIN).tolist() == [[True, True], [True, False], [True, False], [True, False],
                                                   [False, False]]


def test_the_simulator_draws_one_hero():
    env = make_env("sonic", 64)
    assert heroes(env.reset(3), SKIN) == 1
