"""The second line: hybrid retrieval over the knowledge base, grounded generation with citations.

The import below must stay first: see first_line/torchvision_compat.py."""

import first_line.torchvision_compat  # noqa: F401
