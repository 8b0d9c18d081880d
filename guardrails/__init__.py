"""The guardrails package. The import below must stay first: see first_line/torchvision_compat.py."""

import first_line.torchvision_compat  # noqa: F401
