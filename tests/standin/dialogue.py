"""Re-exported from bot/standin/dialogue.py."""

from bot.standin.dialogue import (
    MEDIA,
    Bench,
    Expect,
    Press,
    Replies,
    TgGroup,
    TgUser,
    expect_dialogue,
)

__all__ = ["MEDIA", "Bench", "Expect", "Press", "Replies", "TgGroup", "TgUser", "expect_dialogue"]
