"""``python -m bptt``: the same as the ``bptt`` command (bptt.cli)."""
import sys

from .cli import main

sys.exit(main())
