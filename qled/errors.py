"""Errors the program reports as one line, and the exit codes it uses."""
from __future__ import annotations

__all__ = ["UserError", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE", "EXIT_INTERRUPTED"]

#: Exit codes: success, a run that did not finish or an analysis that failed, a user error
#: (bad parameter, missing file: nothing was done), interrupted by Ctrl-C.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UserError(Exception):
    """A problem the user can fix (bad parameter, missing file, missing extra): one line."""
