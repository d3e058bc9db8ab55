"""What the `nanogenie train` tests share: a child process's environment, and the one error line."""

import os


def child_env() -> dict[str, str]:
    # Read at call time: the autouse fixture has pointed NANOGENIE_HOME into the test's temp folder.
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def error_line(capsys) -> str:
    """The one `nanogenie: error:` line a refused command printed (and no traceback)."""
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("nanogenie: error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]
