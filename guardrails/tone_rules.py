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
    rf"|retard\w*|moron\w*|idiot\w*|imbecile\w*|dumbass\w*|jackass\w*|stfu|wtf|cr(?:a|{_M})p(?:py)?"
    rf"|(?:go\s+to|the)\s+hell|damn(?:ed|it)?|screw\s+(?:you|off|it))\b"
)
# Russian obscene roots (мат) and name-calling (дурак, тупой, бестолочь, олух, криворукий, …) at a word
# start, so "употреблять" or "оскорбление" do not match. "Тупой" is no bank's word for a client or a
# question; "приложение тупит" (a client's phrase) stays with the model.
_RU_PROFANITY = re.compile(
    r"(?i)(?<![а-яё])(?:х[уy][йеяиюё]\w*|пизд\w*|п[иi]зд\w*|[её]б(?:а|у|ну|ан|ат|ёт|ет|ли)\w*|в[ыз]?[ъь]?[её]б\w*"
    r"|за[её]б\w*|у[её]б\w*|до[её]б\w*|бля(?:д\w*|ть)?|сук[аи]|сучк\w*|муда[кч]\w*|пидор\w*|пидар\w*"
    r"|долбо[её]б\w*|гандон\w*|залуп\w*|мраз[ьи]\w*|ублюд\w*|дебил\w*|идиот\w*|придур\w*|кретин\w*"
    r"|дурак\w*|дур[аеуы](?![а-яё])|тупиц\w*|тупо[йгм]\w*|туп(?:ая|ые|ую|ых)(?![а-яё])|бестолоч\w*"
    r"|олух\w*|безмозгл\w*|недоум(?:ок|к)\w*|болван\w*|криворук\w*|остолоп\w*|балбес\w*"
    r"|на\s+х[еу]р|х[еу]р(?:ня|ню|ни)\w*|хрен(?:ь|и|ов\w*))"
)
EMOJI_SPAM = 3
"""This many emoji in one sentence (or twice as many in an answer) is spam; one smiley is fine."""


def profanity_rule(sentence: str) -> str | None:
    if _EN_PROFANITY.search(sentence) or _RU_PROFANITY.search(sentence):
        return "insult"
    return None


# Chat slang and over-familiar address no bank writes: internet abbreviations, clipped spellings and pet
# names. Only tokens with no formal meaning ("mate" and "u" stay with the model).
_EN_SLANG = re.compile(
    r"(?i)\b(?:lol|lmao|rofl|omg|omfg|ngl|tbh|idk|smh|rn|thx|pls|plz|cya|ttyl|brb|gonna|wanna|gotta|lemme"
    r"|gimme|dunno|kinda|sorta|ain't|y'all|ya|yep\s+yep|nah\s+fam|bro|bruh|bruv|dude|fam|homie|sup|wassup"
    r"|whaddup|babe|hun|sweetie|sweetheart|luv|innit|aight|gotchu|ez|tmrw|tmr|no\s+cap|totes|legit"
    r"|ur|u\s+r|smth|sth)\b"
)
_RU_SLANG = re.compile(
    r"(?i)(?<![а-яё])(?:чё|чо|щас|ща|норм|братан\w*|братишк\w*|бро|лол|ваще|пофиг|бабл\w*|кипиш\w*"
    r"|зай|зайк\w*|котик|красава|здарова|прив|лан|кароч|короче(?=\s*[,:])|жесть|чувак\w*|прикол\w*|погодь)(?![а-яё])"
)


def slang_rule(sentence: str) -> str | None:
    return "slang" if _EN_SLANG.search(sentence) or _RU_SLANG.search(sentence) else None


def emoji_rule(sentence: str) -> str | None:
    return "emoji_spam" if count_emoji(sentence) >= EMOJI_SPAM else None


# Bank categories a phrase names reliably, unless the sentence refuses or negates it ("we cannot
# guarantee approval", "I can't share our internal criteria", "we don't give investment advice").
_REFUSAL = re.compile(
    r"(?i)\b(?:can(?:no|')t|not|unable|won't|don't|doesn't|never|no\s+(?:bank|one)|isn't|aren't)\b"
    r"|(?<![а-яё])(?:не|нельзя|ни\s+один)(?![а-яё])"
)
_GROUP = (
    r"asylum\s+seekers|refugees|migrants|immigrants|foreigners|expats|pensioners|retirees|seniors|elderly"
    r"|old(?:er)?\s+(?:people|clients|customers|folks)|young\s+people|students|teenagers|kids|women|ladies"
    r"|single\s+(?:mothers|mums|moms|dads|fathers|parents)|disabled\s+\w+|deaf\s+\w+|blind\s+\w+"
    r"|(?:people|clients|customers)\s+(?:with\s+(?:dementia|a\s+disability|disabilities|autism|an\s+accent)"
    r"|from\s+(?:your|that|those|such)\s+\w+|of\s+your\s+(?:age|kind|sort|background|faith|religion))"
    r"|muslims|jews|christians|gays|gay\s+(?:men|couples|people)|same-sex\s+couples|trans\s+people"
    r"|your\s+(?:kind|sort|lot|people)|you\s+people"
)
_GENERALLY = r"often|usually|always|typically|mostly|generally|tend\s+to|are\s+known\s+to|all|never|rarely"
_BAD_TRAIT = (
    r"fraud\w*|scam\w*|default\w*|lie|lying|liars?|cheat\w*|steal\w*|thie(?:f|ves)|criminal\w*|trouble\w*"
    r"|problem\w*|unreliable|irresponsible|dishonest|untrustworthy|lazy|confused|forget\w*|waste\w*|struggle\w*"
    r"|(?:don't|can't|cannot|won't)\s+(?:pay|repay|handle|manage|understand|cope|be\s+trusted|keep\s+up)"
    r"|bad\s+(?:with|at|risks?)|high[- ]risk|(?:a\s+)?hassle|burden"
)
_VICTIM = (
    r"targeted|victims?|at\s+risk|vulnerable|exposed\s+to|protect|affected\s+by|fall\s+for|preyed"
    r"|жертв|целью|подвержен|защищ|страда"
)
"""Words that make the group the one harmed ("older customers are often targeted by scams",
"пенсионеры часто становятся жертвами мошенников"): a warning, not a stereotype."""
_STEREOTYPE = (
    rf"\b(?:{_GROUP})\b[^.!?;,]{{0,30}}?\b(?:{_GENERALLY})\b(?:(?!{_VICTIM})[^.!?;,]){{0,40}}?\b(?:{_BAD_TRAIT})\b"
    r"|(?<![а-яё])(?:беженц|мигрант|приезж|иностранц|пенсионер|стари|студент|подрост|женщин|мамочк|инвалид"
    r"|глух|слеп|мусульман|евре|гей|цыган|люди\s+(?:вашего|вашей|из\s+ваш))\w*[^.!?;,]{0,30}?"
    r"(?<![а-яё])(?:часто|обычно|всегда|вечно|как\s+правило|все|никогда)(?![а-яё])"
    rf"(?:(?!{_VICTIM})[^.!?;,]){{0,40}}?"
    r"(?<![а-яё])(?:мошенни|обманыва|врут|вор|вору|не\s+(?:платят|возвраща|отдают|понима|справля|разбира)"
    r"|проблем|путают|путаю|забыва|транжир|ненад[её]жн|безответствен|спуска)"
)
"""A group named by a characteristic, a generalisation, a bad trait in one clause: "asylum seekers often turn
out to be fraudsters", "students always waste it", "пенсионеры вечно всё путают". "Students often qualify
for a fee-free account" names no bad trait and passes."""

_PHRASES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (category, re.compile(pattern, re.IGNORECASE))
    for category, pattern in (
        (
            "promise",
            r"\b(?:(?:I|we)\s+(?:can\s+)?(?:guarantee|promise)|I\s+give\s+you\s+my\s+word"
            r"|guaranteed\s+(?:approval|to\s+be\s+approved|refund|returns?|profit)|you\s+have\s+my\s+word"
            r"|(?:approval|refund|loan|application|mortgage)\s+(?:is|will\s+be)\s+(?:\w+\s+)?guaranteed(?!\s+by)"
            r"|(?:will|'ll)\s+(?:definitely|certainly|surely|100\s*%)\s+(?:be\s+)?(?:approved|get|receive|back)"
            r"|100\s*%\s+(?:sure|approved|certain|guaranteed))\b"
            r"|гарантирую|гарантируем|гарантированно\s+одобр\w*|обещаю|обещаем|даю\s+слово"
            r"|стопроцентн\w*|точно\s+одобр\w*",
        ),
        (
            "investment_advice",
            r"\b(?:buy|sell|invest\s+in|put\s+(?:all\s+)?your\s+(?:money|savings)\s+in(?:to)?"
            r"|move\s+your\s+(?:savings|pension|money)\s+into)\b[^.!?]{0,40}\b(?:shares|stocks?"
            r"|bitcoin|crypto\w*|ethereum|gold|bonds|etfs?|funds?)\b"
            r"|(?:покупайте|продавайте|вложите|вкладывайте|купите)\s[^.!?]{0,30}"
            r"(?:акци|облигаци|биткоин|крипт|золот|доллар)",
        ),
        (
            "political",
            r"\b(?:government|president|prime\s+minister|parliament|politicians?|governor|left[- ]wing"
            r"|right[- ]wing|conservatives|liberals|opposition|brexit)\b[^.!?]{0,60}\b(?:idiot\w*|incompetent"
            r"|ruin\w*|destroy\w*|disaster|crooks?|clueless|no\s+clue|to\s+blame|fault|corrupt\w*|useless)"
            r"|\bvote\s+(?:for|them\s+out|against)\b|(?:правительств|президент|депутат|власт)\w*[^.!?]{0,50}"
            r"(?:развал|ворю|вор[ыа]|ничего\s+не\s+понима|довел|виноват|бездар|дурак)|голосуйте",
        ),
        (
            "threat",
            r"\b(?:if\s+you\s+(?:keep\s+(?:this\s+up|complaining|disputing|calling)|complain|dispute)"
            r"|keep\s+(?:this\s+up|disputing|complaining)|one\s+more\s+\w+|say\s+that\s+again|or\s+else"
            r"|don't\s+make\s+me)\b[^.!?]{0,60}\b(?:we(?:'ll|\s+will)|I(?:'ll|\s+will)|you(?:'ll|\s+will))\b"
            r"[^.!?]{0,40}\b(?:close|block|freeze|ruin|regret|report\s+you|hand\s+your|make\s+sure|be\s+sorry"
            r"|gone|lose|visit)"
            r"|\byou(?:'ll|\s+will)\s+(?:regret|be\s+sorry)|\bwe\s+know\s+where\s+you\s+live\b"
            r"|пожалеете|(?:ещё|еще)\s+(?:раз|одна)[^.!?]{0,50}(?:закро|заблокир|лишим)",
        ),
        (
            "discrimination",
            r"\b(?:people|clients|customers|someone|applicants|those)\s+(?:like\s+you|of\s+your\s+"
            r"(?:age|nationality|religion|background|race|gender|country|kind))\s+(?:\w+\s+){0,2}?"
            r"(?:usually|always|never|can't|cannot|shouldn't|don't|won't|rarely|tend|are\s+(?:usually|always|often))"
            r"|\b(?:decline|reject|don't\s+approve|rarely\s+approve|won't\s+qualify)\b[^.!?]{0,40}"
            r"\b(?:from\s+your|of\s+your|from\s+that)\s+(?:country|nationality|neighbourhood|background|part\s+of\s+town"
            r"|religion|age\s+group)"
            r"|\b(?:women|pensioners|immigrants|foreigners|young\s+people|old(?:er)?\s+people"
            r"|elderly|disabled\s+\w+)\s+(?:usually\s+(?:can't|don't|aren't|get)|always|tend\s+not|can't|cannot"
            r"|shouldn't|don't\s+understand|never|really\s+shouldn't|are\s+(?:a\s+hassle|bad|worse))"
            r"|(?:людям|клиентам|таким)\s+(?:вашего|как\s+вы)|(?:женщины|пенсионер\w*|приезж\w*"
            r"|иностранц\w*|мигрант\w*)\s+(?:обычно|всегда|вообще|не\s+)",
        ),
        ("discrimination", _STEREOTYPE),
        (
            "discrimination",
            r"\bnormal\s+(?:husband|wife|couple|famil(?:y|ies)|marriage|people|person|man|woman|name|accent)\b"
            r"|\blifestyle\s+choice|(?<![а-яё])нормальн\w*\s+(?:семь|пар[аыу]|муж|жен|люд|им[яе]|акцент)",
        ),
        (
            "blame",
            r"\b(?:your\s+(?:own\s+)?fault|you\s+only\s+have\s+yourself\s+to\s+blame|it's\s+on\s+you"
            r"|you\s+brought\s+this\s+on\s+yourself|you\s+should(?:n't)?\s+have\s+(?:read|checked|clicked"
            r"|listened|known|been\s+more\s+careful|given|shared|trusted)|had\s+you\s+(?:bothered|listened"
            r"|read|checked)|you\s+caused\s+this)\b|сами\s+виноваты|ваша\s+вина|надо\s+было\s+(?:думать"
            r"|читать|внимательн\w+)",
        ),
        (
            "internal_disclosure",
            r"\b(?:between\s+(?:you\s+and\s+me|us)|off\s+the\s+record|confidentially(?=\s*[,:\u2014-])"
            r"|internal\s+(?:risk|fraud|scor\w+|policy|rating|system|document|rules?)"
            r"|staff\s+handbook|risk\s+engine|our\s+scoring\s+model)\b"
            r"|между\s+нами|не\s+для\s+протокола|внутренн\w+\s+(?:скоринг|модел|систем|регламент"
            r"|инструкци|оценк)",
        ),
    )
)


UNGUARDED = frozenset({"threat", "discrimination", "blame"})
"""Categories whose phrases stay bad even with a negation in the sentence ("you shouldn't have...")."""


_POSSIBILITY = re.compile(
    r"(?i)\b(?:can|could|may|(?:are|is)\s+(?:still\s+)?(?:able|free|welcome)\s+to|possible\s+to)\s+"
    r"(?:still\s+|also\s+)?(?:buy|sell|invest)\b|(?<![а-яё])(?:можете|можно)\s+(?:также\s+)?(?:купить|продать|вложить)"
)
""""You can still buy crypto through registered platforms" states what the client may do, not what they
should: the investment-advice phrase stays with the model there."""
_CATEGORY_GUARDS = {"investment_advice": _POSSIBILITY}
"""Sentences a category's phrase does not decide, besides refusals."""


def phrase_rule(sentence: str) -> str | None:
    refusal = bool(_REFUSAL.search(sentence))
    for category, pattern in _PHRASES:
        if refusal and category not in UNGUARDED:
            continue
        guard = _CATEGORY_GUARDS.get(category)
        if guard is not None and guard.search(sentence):
            continue
        if pattern.search(sentence):
            return category
    return None


RULES = (profanity_rule, emoji_rule, phrase_rule, slang_rule)


def rule_category(sentence: str) -> str | None:
    """The first rule that fires on the (quote-masked) sentence, or None."""
    for rule in RULES:
        category = rule(sentence)
        if category:
            return category
    return None
