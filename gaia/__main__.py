"""``python -m gaia``: the same as the ``gaia`` command."""

import sys

from gaia._cli import main

sys.exit(main())
