from nanogenie.training.control import keymap_codes


def test_each_true_control_gets_its_main_chords_latent_action(tmp_path):
    keymap = tmp_path / "keymap.toml"
    keymap.write_text('idle = 3\n[bindings]\nleft = 1\nspace = 5\nup = 6\n')
    names = ["idle", "left", "right", "jump"]
    assert keymap_codes(keymap, names) == {0: 3, 1: 1, 3: 5}  # right has no binding: not scored
