"""`python -m tracer` is the `ipctrace` command."""

import sys

from tracer.cli import main

sys.exit(main())
