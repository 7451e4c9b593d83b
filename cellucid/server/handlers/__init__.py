"""Request handlers, one module per route family (health, identity, data, static)."""
