"""``python -m transcriber`` is the command line."""

import sys

from transcriber.cli import main

sys.exit(main())
