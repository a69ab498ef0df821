"""``python -m tftrt_kit``: the ``tftrt-kit`` command line."""

import sys

from tftrt_kit.cli import main

sys.exit(main())
