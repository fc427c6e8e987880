"""The ``qled`` command line.

Each package contributes its subcommands through a ``register(subparsers)``
function in its ``commands`` module; this module only assembles them and
turns user errors into one clear line (no traceback).
"""
from __future__ import annotations

import argparse
import importlib
import sys

#: Modules that contribute subcommands, in the order they appear in ``--help``.
COMMAND_MODULES = (
    "procedures.commands",
    "procedures.gui_commands",
    "analysis.commands",
    "analysis.trpl_commands",
    "acquisition.commands",
    "simulators.commands",
)


class UserError(Exception):
    """A problem the user can fix (bad parameter, missing file): printed as one line."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qled",
        description="qled-bench: measure and analyse perovskite / QD LEDs "
        "(J-V-L, lifetime, DLCP, C-V, SCLC) on real or simulated instruments.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real import error inside the module
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except KeyboardInterrupt:
        print("qled: interrupted", file=sys.stderr)
        return 130
    except (UserError, ValueError, FileNotFoundError, FileExistsError,
            PermissionError, IsADirectoryError, NotADirectoryError) as exc:
        print(f"qled: error: {exc}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
