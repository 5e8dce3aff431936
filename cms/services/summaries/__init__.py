"""The "No time to read?" summary: the stored summary and the extractive summarizer."""
