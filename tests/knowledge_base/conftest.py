from tests.kb_fixtures import kb_index, kb_sources  # noqa: F401
