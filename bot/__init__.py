"""The running service: configuration, the CLI, the HTTP server and (as they arrive) the channels."""
