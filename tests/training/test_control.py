from types import SimpleNamespace

from nanogenie.training.control import keymap_codes


def test_each_true_control_gets_its_main_chords_latent_action():
    keymap = SimpleNamespace(idle=3, bindings=[SimpleNamespace(chord="left", action=1),
                                               SimpleNamespace(chord="space", action=5),
                                               SimpleNamespace(chord="up", action=6)])
    names = ["idle", "left", "right", "jump"]
    assert keymap_codes(keymap, names) == {0: 3, 1: 1, 3: 5}  # right has no binding: not scored
