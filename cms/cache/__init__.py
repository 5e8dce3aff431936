"""The public response cache: the store, the WSGI fast path and the HTTP caching headers."""
