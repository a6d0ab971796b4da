"""A Bot API stand-in: a fake Telegram for the tests and for `python -m bot demo`.

`core` answers the Bot API methods the bot uses and records every call; `inprocess` is a
PTB request class that hands each call to it without a socket; `dialogue` plays people.
"""
