"""The generation prompt (LangChain): the bank's tone rules, the numbered passages, the question."""

from __future__ import annotations

from langchain_core.messages import BaseMessage
from langchain_core.prompts import ChatPromptTemplate

from second_line.types import Passage

SYSTEM = "{tone_rules}"
HUMAN = (
    "Passages:\n{passages}\n\n"
    "Question: {question}\n\n"
    "Answer in at most 4 sentences using only the passages, and cite them like [1]."
)


def build_prompt() -> ChatPromptTemplate:
    return ChatPromptTemplate.from_messages([("system", SYSTEM), ("human", HUMAN)])


def number_passages(passages: list[Passage], max_chars: int) -> str:
    """`[1] Title\\ntext` blocks, each text cut at a sentence end within `max_chars`."""
    blocks = []
    for i, passage in enumerate(passages, 1):
        text = passage.text
        if len(text) > max_chars:
            cut = text[:max_chars]
            text = cut[: cut.rfind(". ") + 1] if ". " in cut else cut
        blocks.append(f"[{i}] {passage.title}\n{text}")
    return "\n\n".join(blocks)


def prompt_messages(
    question: str, passages: list[Passage], tone_rules: list[str], max_chars: int
) -> list[BaseMessage]:
    return build_prompt().format_messages(
        tone_rules="\n".join(f"- {rule}" for rule in tone_rules),
        passages=number_passages(passages, max_chars),
        question=question,
    )


def as_openai_messages(messages: list[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages → `{"role", "content"}` dicts (for llama.cpp's chat completion)."""
    roles = {"system": "system", "human": "user", "ai": "assistant"}
    return [{"role": roles[m.type], "content": str(m.content)} for m in messages]
