"""The rules, as plain async functions over storage. Nothing here knows Telegram."""
