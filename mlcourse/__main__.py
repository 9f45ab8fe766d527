"""``python -m mlcourse``: the same command line as ``mlcourse``."""

import sys

from .cli import main

sys.exit(main())
