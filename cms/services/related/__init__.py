"""Related articles: scoring, suggestions, the semantic backend, editors' curated links."""
