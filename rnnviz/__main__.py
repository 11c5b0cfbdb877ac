"""`python -m rnnviz` is the same as the `rnnviz` command."""

import sys

from rnnviz.cli import main

if __name__ == "__main__":  # the app's training process (spawned) must not run this again
    sys.exit(main())
