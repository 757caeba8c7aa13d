"""``python -m derivcheck``: the same as the ``derivcheck`` command."""

import sys

from derivcheck.cli import main

sys.exit(main())
