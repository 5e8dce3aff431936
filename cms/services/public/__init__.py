"""The read model behind the public API: lists, details, stored cards, taxonomy counts."""
