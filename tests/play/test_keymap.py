import dataclasses

import pygame
import pytest

from nanogenie.cli import main
from nanogenie.errors import UserError
from nanogenie.play.keymap import keymap_text, load_keymap, parse_keymap, rebind
from nanogenie.world import PACKAGED_KEYMAPS

K = pygame.key.key_code


@pytest.mark.parametrize("path", sorted(PACKAGED_KEYMAPS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_keymap_parses(path):
    keymap = load_keymap(path, num_actions=8)
    assert keymap.bindings and 0 <= keymap.idle < 8
    assert all(0 <= b.action < 8 for b in keymap.bindings)


def test_shipped_keymaps_include_sonic_and_pong():
    assert {p.stem for p in PACKAGED_KEYMAPS.glob("*.toml")} >= {"sonic", "pong"}


SONICLIKE = """
idle = 0
[bindings]
right = 2
space = 3
"right+space" = 5
"left shift" = 6
"Left shift+space" = 7
"""


def test_longest_chord_wins_and_idle_when_nothing_bound_is_held():
    keymap = parse_keymap(SONICLIKE, 8)
    assert keymap.resolve(frozenset()) == (0, "idle")
    assert keymap.resolve({K("a")}) == (0, "idle")
    assert keymap.resolve({K("right")}) == (2, "right")
    assert keymap.resolve({K("space"), K("right")}) == (5, "right+space")
    assert keymap.resolve({K("space"), K("right"), K("a")}) == (5, "right+space")
    assert keymap.resolve({K("left shift"), K("space")}) == (7, "Left shift+space")


def test_equal_length_chords_tie_to_file_order():
    keymap = parse_keymap('idle = 1\n[bindings]\nleft = 3\nright = 4\n', 8)
    assert keymap.resolve({K("left"), K("right")}) == (3, "left")
    keymap = parse_keymap('idle = 1\n[bindings]\nright = 4\nleft = 3\n', 8)
    assert keymap.resolve({K("left"), K("right")}) == (4, "right")


@pytest.mark.parametrize("text, words", [
    ('idle = 0\n[bindings]\nrigth = 2\n', ["'rigth'", "unknown key name"]),
    ('idle = 0\n[bindings]\nright = 8\n', ["'right'", "0..7 for this world"]),
    ('idle = 9\n[bindings]\nright = 1\n', ["idle", "0..7"]),
    ('idle = 0\n[bindings]\n"a+b" = 1\n"b+a" = 2\n', ["'b+a'", "same chord", "'a+b'"]),
    ('[bindings]\nright = 1\n', ["no `idle"]),
    ('idle = 0\n[bindings]\nright = = 1\n', ["not valid TOML", "line 3"]),
    ('idle = 0\n[bindings]\nr = 1\n', ["'r'", "app control"]),
    ('idle = 0\n[bindings]\nright = "two"\n', ["'right'", "0..7"]),
])
def test_bad_keymaps_name_the_file_the_binding_and_what_is_allowed(tmp_path, text, words):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(UserError) as err:
        load_keymap(path, num_actions=8)
    message = str(err.value)
    assert str(path) in message and "\n" not in message
    for word in words:
        assert word in message


@pytest.mark.parametrize("text", ['idle = 0\n[bindings]\nnope = 1\n', 'idle = 0\n[bindings]\nup = 12\n',
                                  'idle = 0\n[bindings]\n"up+down" = 1\n"down+up" = 2\n'])
def test_bad_keymap_on_the_command_line_exits_2_with_one_line(tmp_path, capsys, fake_world, text):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    code = main(["play", "--world", "fake", "--keymap", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("nanogenie: error:") and str(path) in err
    assert fake_world.engines == []  # failed before building the engine


def test_world_keymap_path_is_used_when_no_keymap_is_given(tmp_path, capsys, fake_world):
    fake_world.keymap_path = tmp_path / "keymap.toml"
    fake_world.keymap_path.write_text('idle = 0\n[bindings]\nleft = 9\n')
    assert main(["play", "--world", "fake"]) == 2
    assert str(fake_world.keymap_path) in capsys.readouterr().err


def test_a_key_may_own_several_codes_and_keeps_them_through_rebinding_and_saving():
    text = 'idle = [0, 5]\n[bindings]\nup = [4, 1]\ndown = 6\n'
    keymap = parse_keymap(text, 8)
    assert keymap.idle == 0 and keymap.idle_codes == (0, 5)
    assert keymap.resolve_codes({K("up")}) == ((4, 1), "up") and keymap.resolve({K("up")}) == (4, "up")
    assert keymap.resolve_codes(frozenset()) == ((0, 5), "idle")
    assert "up -> 4/1" in keymap.describe()
    rebound = rebind(keymap, "down", 2, 8)
    assert rebound.resolve_codes({K("up")}) == ((4, 1), "up") and rebound.idle_codes == (0, 5)
    assert parse_keymap(keymap_text(keymap.idle_codes, {b.chord: b.codes for b in keymap.bindings}), 8) == \
        dataclasses.replace(keymap, source="<keymap>")


@pytest.mark.parametrize("value, says", [("[4, 4]", "twice"), ("[4, 9]", "0..7"), ("[]", "0..7"), ('"a"', "0..7")])
def test_a_bad_list_of_codes_is_a_user_error(value, says):
    with pytest.raises(UserError, match=says):
        parse_keymap(f"idle = 0\n[bindings]\nup = {value}\n", 8)
