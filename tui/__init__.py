"""The Textual reader. Handed a reader and a refresher; never builds an API client."""
