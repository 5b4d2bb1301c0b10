"""Support tickets: every room names exactly one `(provider, id)`."""
