"""Rules the censor trusts more than a model: profanity lexicons (masked spellings too) and emoji spam.

Each rule returns the category it found, or None. They run on the sentence with quoted text masked, so
a customer's swear word quoted back ("you wrote \"this f***ing bank\"") is not the bot swearing.
"""

from __future__ import annotations

import re

from guardrails.text import count_emoji

# English profanity and slurs, whole words; masked spellings (f**k, sh*t, b!tch, a**hole) included:
# a masked letter is any of * # @ ! $ % . - _ or the letter itself.
_M = r"[\*#@!$%._\-]"
_EN_PROFANITY = re.compile(
    rf"(?i)\b(?:f(?:u|{_M})(?:c|{_M})(?:k|{_M})\w*|f{_M}{{2,3}}\w*|f{_M}+ck\w*|fck\w*|fu?kk?\w*ing"
    rf"|sh(?:i|{_M})t\w*|bullsh(?:i|{_M})t|b(?:i|{_M})tch\w*|a(?:s|{_M})(?:s|{_M})hole\w*"
    rf"|c(?:u|{_M})nt\w*|d(?:i|{_M})ck(?:head)?s?|wank\w*|twat\w*|motherf\w*|bastard\w*|piss(?:ed)?\s+off"
    rf"|retard\w*|moron\w*|idiot\w*|imbecile\w*|dumbass\w*|jackass\w*|stfu|wtf)\b"
)
# Russian obscene roots (мат) at a word start, so "употреблять" or "оскорбление" do not match.
_RU_PROFANITY = re.compile(
    r"(?i)(?<![а-яё])(?:х[уy][йеяиюё]\w*|пизд\w*|п[иi]зд\w*|[её]б(?:а|у|ну|ан|ат|ёт|ет|ли)\w*|в[ыз]?[ъь]?[её]б\w*"
    r"|за[её]б\w*|у[её]б\w*|до[её]б\w*|бля(?:д\w*|ть)?|сук[аи]|сучк\w*|муда[кч]\w*|пидор\w*|пидар\w*"
    r"|долбо[её]б\w*|гандон\w*|залуп\w*|мраз[ьи]\w*|ублюд\w*|дебил\w*|идиот\w*|придур\w*|кретин\w*"
    r"|на\s+х[еу]р|х[еу]р(?:ня|ню|ни)\w*)"
)
EMOJI_SPAM = 3
"""This many emoji in one sentence (or twice as many in an answer) is spam; one smiley is fine."""


def profanity_rule(sentence: str) -> str | None:
    if _EN_PROFANITY.search(sentence) or _RU_PROFANITY.search(sentence):
        return "insult"
    return None


def emoji_rule(sentence: str) -> str | None:
    return "emoji_spam" if count_emoji(sentence) >= EMOJI_SPAM else None


RULES = (profanity_rule, emoji_rule)


def rule_category(sentence: str) -> str | None:
    """The first rule that fires on the (quote-masked) sentence, or None."""
    for rule in RULES:
        category = rule(sentence)
        if category:
            return category
    return None
