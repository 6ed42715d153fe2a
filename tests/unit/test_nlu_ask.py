"""Asking about a topic against asking us to act, in seven languages."""

from __future__ import annotations

import pytest

from relaydesk.nlu import ask

QUESTIONS = [
    # en: interrogatives, modal questions, policy nouns, hypotheticals
    "how long is the return window?",
    "can I return a sale item?",
    "do you take PayPal?",
    "is there an instalment plan?",
    "how long does a refund take once you get the return?",
    "return policy?",
    "what payment methods do you accept",
    "is it possible to cancel after it ships",
    "do I need an account to order?",
    "just wondering if returns are free",
    "hi, which cards can I use",
    "if it doesn't fit, can I send it back?",
    "what if it arrives broken?",
    "i'd like to know how long refunds take",
    "how long will my refund take?",  # "my" alone does not make it a request
    # es
    "¿cuántos días tengo para devolver algo?",
    "¿se pueden devolver los artículos rebajados?",
    "aceptáis bizum",
    "quería saber si hay pago a plazos",
    # pt
    "qual é o prazo para devolução?",
    "vocês aceitam PayPal",
    "quero saber se posso parcelar",
    # fr
    "est-ce qu'on peut payer en plusieurs fois",
    "quel est le délai de retour",
    "je voudrais savoir si les soldes sont remboursables",
    # de
    "kann ich mit PayPal bezahlen",
    "gibt es Ratenzahlung",
    "wie lange ist die Rückgabefrist",
    # it
    "posso restituire un articolo in saldo",
    "si può annullare un ordine già spedito?",
    "vorrei sapere se accettate PayPal",
    # id
    "apakah bisa bayar pakai paypal",
    "berapa lama batas waktu retur",
    "mau tanya, ada cicilan?",
]

REQUESTS = [
    # en: wants, "can you ...", things that happened, imperatives, bare topics
    "I want my money back",
    "you charged me twice",
    "cancel my order",
    "refund",
    "payment failed",
    "can you cancel my order?",
    "the chair came with a cracked leg, what do i do",
    "why was i charged again??",
    "where is my refund?",
    "still waiting for my refund",
    "my refund hasn't arrived",
    "i need to change the address on order 55123",
    "wrong size, can i exchange it",
    # es
    "quiero que me devuelvan el dinero",
    "me cobraron dos veces",
    "¿pueden cancelar mi pedido?",
    "la lámpara llegó rota",
    # pt
    "quero meu dinheiro de volta",
    "fui cobrado duas vezes",
    "o pagamento não passou",
    # fr
    "je veux être remboursé",
    "j'ai été débité deux fois",
    "pouvez-vous annuler ma commande ?",
    # de
    "ich möchte mein Geld zurück",
    "mir wurde doppelt abgebucht",
    "mein Konto ist gesperrt",
    # it
    "voglio il rimborso",
    "mi avete addebitato due volte",
    "potete annullare il mio ordine?",
    # id
    "mau refund kak, barangnya rusak",
    "saldo saya terpotong dua kali",
    "ada masalah dengan pembayaran saya",
]


@pytest.mark.parametrize("text", QUESTIONS)
def test_questions(text: str) -> None:
    """Asking about a topic, with nothing that asks us to act, is a question."""
    found = ask.detect(text)
    assert found.kind == ask.QUESTION, (text, found)


@pytest.mark.parametrize("text", REQUESTS)
def test_requests(text: str) -> None:
    """A want, an action asked of us, or something that happened is a request."""
    found = ask.detect(text)
    assert found.kind == ask.REQUEST, (text, found)


def test_an_order_number_makes_a_question_a_request() -> None:
    """A question about one specific order is about acting on it."""
    assert ask.detect("can i return it?").kind == ask.QUESTION
    assert ask.detect("can i return it?", specific=True).kind == ask.REQUEST


def test_the_cue_is_reported_and_no_cue_means_a_request() -> None:
    """The decision can say what showed the mode; with no cue at all, a person looks."""
    assert ask.detect("I want my money back").cue == "i want"
    assert ask.detect("the blue lamp") == ask.Mode(ask.REQUEST, "")
