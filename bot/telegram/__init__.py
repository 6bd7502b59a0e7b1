"""The Telegram channel: updates in, engine in the middle, messages out (see ARCHITECTURE.md)."""
