"""Writing articles: create, edit, delete, revisions, rendering, slugs, taxonomy editing and
bulk import."""
