"""The Bot API stand-in lives in bot/standin (the demo uses it too); these modules re-export
it so tests import it from where they always did. http.py (aiohttp, a test dependency) is
the tests' own."""
