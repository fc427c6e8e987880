"""``qled completion bash|zsh|tcsh``: a shell-completion script for the ``qled`` program.

Generated from the program's own parser by shtab, so every command, kind and option
completes, including the kinds a lab's plug-ins add. Install for bash, e.g.::

    qled completion bash > ~/.local/share/bash-completion/completions/qled
"""
from __future__ import annotations

from qled.errors import EXIT_OK

__all__ = ["register"]

SHELLS = ("bash", "zsh", "tcsh")


def register(subparsers) -> None:
    p = subparsers.add_parser("completion", help="print a shell-completion script",
                              description="Print a completion script for bash, zsh or tcsh "
                              "(e.g. 'qled completion bash > "
                              "~/.local/share/bash-completion/completions/qled').")
    p.add_argument("shell", choices=SHELLS)
    p.set_defaults(func=_completion)


def _completion(args) -> int:
    import shtab

    print(shtab.complete(args.root_parser, shell=args.shell))
    return EXIT_OK
