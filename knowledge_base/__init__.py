"""Knowledge-base ingestion: load documents, chunk, embed, build and version the FAISS index."""
