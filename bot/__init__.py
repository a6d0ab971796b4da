"""The core: settings, the Application builder, the command line, texts and the services."""

import os

# Opt in to python-telegram-bot's coming behaviour (durations as timedelta) now: otherwise
# every RetryAfter from a flood limit emits a deprecation warning. Nothing here reads the
# old integer attributes.
os.environ.setdefault("PTB_TIMEDELTA", "1")
