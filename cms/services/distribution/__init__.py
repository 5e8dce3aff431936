"""Newsroom distribution (PRODUCT.md §8): what leaves the API for feed readers, search engines
and aggregators. ``site``: the canonical front-end URLs; ``feeds``: RSS, Atom and JSON Feed;
``sitemaps``: the sitemap index, article pages and the Google News sitemap;
``structured_data``: schema.org ``NewsArticle`` JSON-LD; ``corrections``: the append-only
corrections log; ``takedowns``: admin takedowns (410). Every public read starts from the visible
articles (``cms.services.visibility``)."""
