"""``python -m sphinx_deployguide``: the same as the ``deployguide`` command."""

import sys

from .cli import main

sys.exit(main())
