import numpy as np
import pytest

from nanogenie.envs import firefly, make_env
from nanogenie.envs.firefly import AGENT, AGENT_COLOUR, DOWN, IDLE, LEFT, RIGHT, SPARK_SPEED, UP

from frame_helpers import colour_box


def play(seed: int, actions: list[int], size: int = 64) -> list[np.ndarray]:
    env = make_env("firefly", size)
    return [env.reset(seed)] + [env.step(a) for a in actions]


@pytest.mark.parametrize("action, dx, dy", [(IDLE, 0, 0), (UP, 0, -1), (DOWN, 0, 1), (LEFT, -1, 0), (RIGHT, 1, 0)])
def test_each_action_moves_the_agent_one_pixel_its_way(action, dx, dy):
    env = make_env("firefly")
    before_frame = env.reset(3)
    x, y = env.agent_x, env.agent_y
    assert colour_box(before_frame, AGENT_COLOUR) == (x, y, AGENT, AGENT)  # at 64 px a unit is a pixel
    frame = env.step(action)
    assert (env.agent_x, env.agent_y) == (x + dx, y + dy)
    assert colour_box(frame, AGENT_COLOUR) == (x + dx, y + dy, AGENT, AGENT)


def test_the_agent_stops_at_the_edges():
    env = make_env("firefly")
    env.reset(0)
    for _ in range(40):
        env.step(LEFT)
        env.step(UP)
    assert (env.agent_x, env.agent_y) == (0, 0)
    for _ in range(70):
        env.step(RIGHT)
        env.step(DOWN)
    assert (env.agent_x, env.agent_y) == (64 - AGENT, 64 - AGENT)


def test_sparks_move_and_stay_on_screen_while_the_agent_idles():
    env = make_env("firefly")
    env.reset(1)
    assert 6 <= len(env.sizes) <= 8
    start = env.pos.copy()
    for _ in range(200):
        env.step(IDLE)
        assert (env.pos >= 0).all() and (env.pos <= 64 - env.sizes[:, None]).all()
        speed = np.linalg.norm(env.vel, axis=1)
        assert (speed >= SPARK_SPEED[0] - 1e-9).all() and (speed <= SPARK_SPEED[1] + 1e-9).all()
    assert (np.abs(env.pos - start).sum(axis=1) > 0).all()


def test_sparks_turn_at_random_away_from_the_edges():
    env = make_env("firefly")
    env.reset(6)
    env.pos[:] = 30.0  # 40 frames at half a unit per frame cannot reach an edge: every turn is a random one
    env.vel[:] = [0.5, 0.0]
    env.agent_x = env.agent_y = 0
    turned = np.zeros(len(env.sizes), bool)
    for _ in range(40):
        env.step(IDLE)
        turned |= ~np.isclose(env.vel, [0.5, 0.0]).all(axis=1)
    assert turned.sum() >= 2
    np.testing.assert_allclose(np.linalg.norm(env.vel, axis=1), 0.5)  # a turn keeps the spark's speed


def test_sparks_bounce_off_the_edges(monkeypatch):
    monkeypatch.setattr(firefly, "TURN_CHANCE", 0.0)
    env = make_env("firefly")
    env.reset(0)
    env.pos[0], env.vel[0] = [0.2, 30.0], [-1.0, 0.0]
    env.pos[1], env.vel[1] = [30.0, 64 - env.sizes[1] - 0.5], [0.0, 1.5]
    env.step(IDLE)
    np.testing.assert_allclose(env.pos[0], [0.8, 30.0])
    np.testing.assert_allclose(env.vel[0], [1.0, 0.0])
    np.testing.assert_allclose(env.pos[1], [30.0, 64 - env.sizes[1] - 1.0])
    np.testing.assert_allclose(env.vel[1], [0.0, -1.5])


def test_a_touched_spark_respawns_at_an_edge_and_scores():
    env = make_env("firefly")
    env.reset(2)
    env.pos[0] = [env.agent_x, env.agent_y]
    env.vel[0] = [0.5, 0.0]
    env.step(IDLE)
    assert env.score == 1
    x, y = env.pos[0]
    size = env.sizes[0]
    assert min(x, y, 64 - size - x, 64 - size - y) == pytest.approx(0)  # on an edge
    assert not env._touching()[0]


def test_the_agent_is_drawn_over_sparks():
    env = make_env("firefly")
    env.reset(4)
    env.pos[:] = [env.agent_x + 1, env.agent_y]  # every spark overlapping the agent
    frame = env._render()
    assert colour_box(frame, AGENT_COLOUR) == (env.agent_x, env.agent_y, AGENT, AGENT)
