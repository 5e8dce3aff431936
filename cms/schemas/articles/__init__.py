"""Article schemas by audience: ``public`` (public output and queries), ``editor`` (editor
input and output), ``dumpers`` (the public output without marshmallow)."""
