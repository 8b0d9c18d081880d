"""The policy's pool for a Russian message: the pool whose intents hold the most probability."""

from __future__ import annotations

import numpy as np

from first_line.intent_model import IntentPrediction
from router.policy import likely_pool_intents, pool_of_intents


def test_the_pool_of_a_russian_message_sums_its_intents(domain):
    pools = domain.pools
    cards = next(name for name, pool in pools.items() if "card_arrival" in pool.intents)
    members = list(pools[cards].intents)[:2]
    outside = next(i for i in domain.intents if domain.pool_by_intent.get(i) != cards)
    prediction = IntentPrediction([outside, *members], np.array([0.4, 0.35, 0.25]))
    pool = pool_of_intents(prediction, domain)
    assert pool.pool == cards and np.isclose(pool.confidence, 0.6)
    assert likely_pool_intents(prediction, domain, cards) == members
    assert pool_of_intents(IntentPrediction([], np.array([])), domain).pool == ""
