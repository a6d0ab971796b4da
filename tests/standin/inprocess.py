"""Re-exported from bot/standin/inprocess.py."""

from bot.standin.inprocess import StandInRequest

__all__ = ["StandInRequest"]
