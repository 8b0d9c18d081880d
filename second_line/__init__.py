"""The second line: hybrid retrieval over the knowledge base, grounded generation with citations."""
