from nanogenie.envs import bricks, make_env
from nanogenie.envs.bricks import IDLE, LEFT, PADDLE_COLOUR, PADDLE_SPEED, RIGHT

from frame_helpers import colour_box


def test_the_paddle_is_six_pixels_wide_and_one_tall_and_the_ball_one_pixel():
    env = make_env("bricks")
    frame = env.reset(0)
    assert colour_box(frame, PADDLE_COLOUR)[2:] == (6, 1)
    assert (frame == bricks.BALL_COLOUR).all(axis=-1).sum() == 1


def test_a_held_key_moves_the_paddle_a_fixed_step_and_no_key_stops_it():
    env = make_env("bricks")
    env.reset(1)
    env.paddle_x = 32.0
    left = colour_box(env.step(RIGHT), PADDLE_COLOUR)[0]
    assert colour_box(env.step(RIGHT), PADDLE_COLOUR)[0] == left + PADDLE_SPEED
    assert colour_box(env.step(IDLE), PADDLE_COLOUR)[0] == left + PADDLE_SPEED  # no momentum
    assert colour_box(env.step(LEFT), PADDLE_COLOUR)[0] == left


def test_the_walls_stop_the_paddle():
    env = make_env("bricks")
    env.reset(2)
    for _ in range(40):
        env.step(LEFT)
    assert colour_box(env._render(), PADDLE_COLOUR)[0] == env.px(bricks.WALL)


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
