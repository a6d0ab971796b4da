"""Re-exported from bot/standin/core.py."""

from bot.standin.core import TOKEN, BotApiStandIn, Call, Fault, Hold, StandInHTMLError

__all__ = ["TOKEN", "BotApiStandIn", "Call", "Fault", "Hold", "StandInHTMLError"]
