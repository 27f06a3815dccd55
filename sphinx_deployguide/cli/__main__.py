"""``python -m sphinx_deployguide.cli``: the same as the ``deployguide`` command."""

import sys

from . import main

sys.exit(main())
