"""``python -m mlcourse``: the same command line as ``mlcourse``."""

import sys

from mlcourse.cli import main

sys.exit(main())
