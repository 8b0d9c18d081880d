"""Knowledge-base ingestion: load documents, chunk, embed, build and version the FAISS index.

The import below must stay first: see first_line/torchvision_compat.py."""

import first_line.torchvision_compat  # noqa: F401
