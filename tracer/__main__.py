"""`python -m ipctrace` is the `ipctrace` command."""

import sys

from ipctrace.cli import main

sys.exit(main())
