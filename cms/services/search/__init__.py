"""Full-text search of articles on the database's own engine."""
