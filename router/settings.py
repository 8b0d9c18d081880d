"""The one settings object: environment variables with the TWOLINE_ prefix (or a .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from second_line.config import SecondLineSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_CLIENT_KEY = "demo-client-key"
DEMO_OPERATOR_KEY = "demo-operator-key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWOLINE_", env_file=".env", extra="ignore")

    domain_dir: Path = REPO_ROOT / "domains" / "demo_bank"
    data_dir: Path = REPO_ROOT.parent / "shared" / "data"
    """Public training data (BANKING77, CLINC150, Ask CFPB, ...) for `twoline train`."""
    artifacts_dir: Path = REPO_ROOT / "artifacts"
    database_url: str = f"sqlite:///{REPO_ROOT / 'var' / 'twoline.db'}"
    """SQLite file by default; e.g. postgresql+psycopg://user@localhost/twoline for PostgreSQL."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(1, ge=1, le=64)

    client_api_key: SecretStr = SecretStr(DEMO_CLIENT_KEY)
    operator_api_key: SecretStr = SecretStr(DEMO_OPERATOR_KEY)

    max_message_chars: int = Field(2000, ge=1)
    max_body_bytes: int = Field(64 * 1024, ge=1024)
    """Bodies larger than this are refused before parsing (images get their own limit)."""

    intent_model_threads: int = Field(1, ge=1)
    encoder_cache_size: int = Field(4096, ge=0)
    use_ner: bool = True
    """spaCy / natasha NER for names and merchants; rules alone when off (faster)."""
    second_line: SecondLineSettings = Field(default_factory=SecondLineSettings)
    """RAG over the knowledge base: TWOLINE_SECOND_LINE_* variables (second_line/config.py)."""
    log_level: str = "INFO"
    log_json: bool = True

    @property
    def intents_dir(self) -> Path:
        return self.artifacts_dir / "intents"

    @property
    def pools_dir(self) -> Path:
        return self.artifacts_dir / "pools"

    @property
    def uses_demo_keys(self) -> bool:
        return self.client_api_key.get_secret_value() == DEMO_CLIENT_KEY


@lru_cache
def get_settings() -> Settings:
    return Settings()
