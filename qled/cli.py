"""The ``qled`` command line: one parser assembled from the command groups of :mod:`qled.commands`.

Every command group is a plain import (a command cannot vanish because an import failed); a
command that needs an optional dependency says which extra to install when it runs. Errors a
user can fix are printed as one line, ``qled: error: …``, with exit code 2 and no traceback.
"""
from __future__ import annotations

import argparse
import sys

from acquisition.store import StoreBusy, StoreError
from qled.commands import (analyze, batch, catalogue, completion, demo, gui, recipe, run, sim,
                           status, store, trpl)
from qled.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UserError
from qled.kinds import load_problems

__all__ = ["build_parser", "main", "one_line"]

#: Command groups in the order ``qled --help`` lists them.
COMMAND_GROUPS = (run, recipe, gui, demo, analyze, batch, catalogue, store, status, trpl, sim,
                  completion)

#: Optional dependencies → the extra that installs them.
EXTRAS = {"PyQt5": "gui", "PySide6": "gui", "qtpy": "gui", "pyqtgraph": "gui",
          "shtab": "completion", "distributed": "batch", "dask": "batch",
          "tiled": "catalogue", "httpx": "catalogue", "pyarrow": "catalogue",
          "h5netcdf": "catalogue"}

#: Exceptions that are the user's to fix: one line, exit code 2 (a run file that is damaged,
#: busy or not a run file is one too: the message says what to do).
_USER_ERRORS = (UserError, ValueError, FileNotFoundError, FileExistsError, PermissionError,
                IsADirectoryError, NotADirectoryError, StoreError, StoreBusy)


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit 2), pointing at ``--help``."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} "
                     f"(see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="qled",
        description="qled-bench: measure and analyse perovskite / QD LEDs (J-V-L, lifetime, "
        "DLCP, C-V, SCLC, PL) on real or simulated instruments.",
        epilog="'qled COMMAND --help' explains each command; 'qled sim devices' lists the "
        "simulated devices of each measurement kind.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for group in COMMAND_GROUPS:
        group.register(sub)
    parser.set_defaults(root_parser=parser)     # `qled completion` generates from it
    return parser


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line, without the exception's class name."""
    text = str(exc)
    if isinstance(exc, OSError) and exc.strerror and exc.filename:   # "[Errno 2] …" → "path: …"
        text = f"{exc.filename}: {exc.strerror}"
    elif isinstance(exc, OSError) and exc.strerror and exc.errno:    # "[Errno 28] …" → "…"
        text = exc.strerror
    return " ".join(text.split()) or type(exc).__name__


def _missing_extra(exc: ImportError) -> str:
    name = (exc.name or "").split(".")[0]
    extra = EXTRAS.get(name)
    if extra is None:
        return f"a required module is missing: {name or exc}"
    return f"this command needs {name}, which is not installed: pip install 'qled-bench[{extra}]'"


def main(argv: list[str] | None = None) -> int:
    for problem in load_problems():
        print(f"qled: warning: {problem}", file=sys.stderr)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except KeyboardInterrupt:
        print("qled: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:                  # `qled … | head`: the reader left, not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except ModuleNotFoundError as exc:
        print(f"qled: error: {_missing_extra(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except _USER_ERRORS as exc:
        print(f"qled: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:                   # disk full, I/O error: one line, not a traceback
        print(f"qled: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
