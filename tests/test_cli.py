import subprocess
import sys

import pytest

from nanogenie.cli import build_parser, main


COMMANDS = ("data", "train", "eval", "lam", "play", "bench")


def test_help_lists_every_subcommand_and_each_one_parses(capsys):
    parser = build_parser()
    assert "{" + ",".join(COMMANDS) + "}" in parser.format_usage()  # argparse's list of what is registered
    for command in COMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args([command, "--help"])  # an unregistered command would be refused, exit 2
        assert exit_info.value.code == 0
        assert capsys.readouterr().out.startswith(f"usage: nanogenie {command}")


def test_console_script_runs_as_module():
    out = subprocess.run([sys.executable, "-m", "nanogenie.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "play" in out.stdout


def test_bad_flag_value_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "generate", "--env", "pong", "--frames", "-3", "--out", "x.h5"])
    assert exit_info.value.code == 2
    assert "expected a number > 0" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", "--world", "pong", "--hold", "0"])
    assert exit_info.value.code == 2
    assert "a hold of 1 to 256 frames" in capsys.readouterr().err


def test_a_bad_flag_ends_with_one_line_that_says_where_to_look(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "import", "clip.mp4", "--out", "x.h5", "--size", "100000"])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert exit_info.value.code == 2 and "frame size from 8 to 1024" in last
    assert last.endswith("see `nanogenie data import --help`")
