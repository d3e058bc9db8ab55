import numpy as np

from nanogenie.envs import bricks, make_env
from nanogenie.envs.bricks import IDLE, LEFT, PADDLE_COLOUR, PADDLE_SPEED, RIGHT


def paddle_box(frame: np.ndarray) -> tuple[int, int, int, int]:
    """(left, top, width, height) in pixels of the player's paddle."""
    ys, xs = np.nonzero((frame == PADDLE_COLOUR).all(axis=-1))
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def test_the_paddle_is_six_pixels_wide_and_one_tall_and_the_ball_one_pixel():
    env = make_env("bricks")
    frame = env.reset(0)
    assert paddle_box(frame)[2:] == (6, 1)
    assert (frame == bricks.BALL_COLOUR).all(axis=-1).sum() == 1


def test_a_held_key_moves_the_paddle_a_fixed_step_and_no_key_stops_it():
    env = make_env("bricks")
    env.reset(1)
    env.paddle_x = 32.0
    left = paddle_box(env.step(RIGHT))[0]
    assert paddle_box(env.step(RIGHT))[0] == left + PADDLE_SPEED
    assert paddle_box(env.step(IDLE))[0] == left + PADDLE_SPEED  # no momentum
    assert paddle_box(env.step(LEFT))[0] == left


def test_the_walls_stop_the_paddle():
    env = make_env("bricks")
    env.reset(2)
    for _ in range(40):
        env.step(LEFT)
    assert paddle_box(env._render())[0] == env.px(bricks.WALL)


def test_the_ball_knocks_out_bricks_while_the_player_idles():
    env = make_env("bricks")
    env.reset(3)
    standing, balls = int(env.bricks.sum()), set()
    for _ in range(300):
        env.step(IDLE)
        assert bricks.WALL <= env.ball_x <= 64 - bricks.WALL
        balls.add((round(env.ball_x), round(env.ball_y)))
    assert env.bricks.sum() < standing and len(balls) > 100


def test_a_ball_that_meets_the_paddle_goes_back_up():
    env = make_env("bricks")
    env.reset(4)
    env.paddle_x, env.ball_x, env.ball_y, env.vx, env.vy = 32.0, 32.0, bricks.PADDLE_Y - 2.0, 0.0, 1.5
    env.step(IDLE)
    assert env.vy < 0 and env.ball_y < bricks.PADDLE_Y
