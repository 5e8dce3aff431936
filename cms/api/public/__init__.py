"""Public read API: GET only, published content only."""
