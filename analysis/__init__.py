"""What the answers say: sentiment, themes, metrics and suppression, as pure functions (see ARCHITECTURE.md)."""
