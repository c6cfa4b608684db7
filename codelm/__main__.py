"""`python -m codelm` is the `codelm` command."""

import sys

from codelm.cli import main

sys.exit(main())
