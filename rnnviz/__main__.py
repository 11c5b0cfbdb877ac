"""`python -m rnnviz` is the same as the `rnnviz` command."""

import sys

from rnnviz.cli import main

sys.exit(main())
