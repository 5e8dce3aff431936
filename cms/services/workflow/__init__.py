"""The editorial workflow: publishing actions and draft previews."""
