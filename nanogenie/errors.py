"""The one exception type a user sees.

Anything the user can fix (a bad file, an unknown world, a wrong flag value) raises UserError with a
one-line message that says what is wrong, where, and what to do. `nanogenie.cli.main` prints it as
`nanogenie: error: <message>` (`report`) and exits with code 2; everything else is a bug and keeps its traceback.
"""

import sys


class UserError(Exception):
    """A problem with the user's input; the message is shown as one line, exit code 2."""

    def __init__(self, message: str):
        super().__init__(" ".join(message.split()))  # always one line


EXIT_CODE = 2  # what a UserError exits with


def report(err: UserError) -> None:
    """Print a UserError the one way the user sees it, on stderr."""
    print(f"nanogenie: error: {err}", file=sys.stderr)
