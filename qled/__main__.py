"""``python -m qled …``: the same program as the ``qled`` command."""
import sys

from qled.cli import main

sys.exit(main())
