"""`python -m bot`: see bot/cli.py."""

import sys

from bot.cli import main

if __name__ == "__main__":  # the export process (storage/db.py) imports this module too
    sys.exit(main())
