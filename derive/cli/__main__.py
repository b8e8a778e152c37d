"""``python -m derive.cli``: the command line."""

import sys

from derive.cli import main

sys.exit(main())
