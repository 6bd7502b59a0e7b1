"""Where answers live: models, migrations, repositories and privacy operations (see ARCHITECTURE.md)."""
