import pytest

from first_line.operator_request import is_operator_request


@pytest.mark.parametrize(
    "text",
    [
        "I want to talk to a human",
        "Can I speak with someone from support?",
        "operator please",
        "agent",
        "transfer me to an agent",
        "I need a live agent",
        "Позовите оператора",
        "хочу поговорить с живым человеком",
        "соедините со специалистом",
        "Оператор!",
    ],
)
def test_requests_for_a_human(text):
    assert is_operator_request(text)


@pytest.mark.parametrize(
    "text",
    [
        "my card was declined",
        "The transfer agent said no",
        "Can a person top up my account?",
        "I paid the estate agent twice",
        "I spoke to a manager at the branch",
        "Где моя карта?",
    ],
)
def test_not_requests_for_a_human(text):
    assert not is_operator_request(text)
