"""Authentication (passwords, tokens, login sessions) and authorisation (roles)."""
