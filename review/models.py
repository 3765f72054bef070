"""Review: corrections, similarity search and quality figures (pgvector)."""
