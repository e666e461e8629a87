"""llmseal's own probe banks, generated from a seed (no third-party probe sets).

* :func:`numeric_questions` — short questions with one numeric answer for ``kbf``:
  seeded arithmetic plus a fixed list of counts, years and quantities. What the
  reference model *answers* is what is enrolled, right or wrong: the probes test
  identity, not knowledge.
* :func:`first_token_prompts` — open prompts whose first token is informative, for
  ``logprob`` (seeded combinations of a few templates and topics).
* :data:`PLAIN` — ordinary chat questions (``stack``'s usage probes).

A buyer's bank is private when its seed is: the same seed gives the same bank,
another seed a different one (:class:`~llmseal.audit.family.EnrollOptions.seed`).
"""

from __future__ import annotations

import random

__all__ = ["FACTS", "PLAIN", "first_token_prompts", "numeric_questions"]

FACTS: tuple[str, ...] = (
    "How many legs does a spider have?",
    "How many days are there in a leap year?",
    "How many continents are there?",
    "In what year did the Second World War end?",
    "In what year did humans first land on the Moon?",
    "What is the boiling point of water in degrees Fahrenheit?",
    "How many players are on a football (soccer) team on the field?",
    "How many sides does a hexagon have?",
    "What is the atomic number of carbon?",
    "How many hours are there in a week?",
    "In what year did the Titanic sink?",
    "How many strings does a standard guitar have?",
    "How many minutes are there in a day?",
    "What is the freezing point of water in degrees Fahrenheit?",
    "How many bones are in the adult human body?",
    "In what year did Columbus first reach the Americas?",
    "How many keys does a standard piano have?",
    "How many teeth does an adult human usually have?",
    "What is the speed of light in kilometres per second, roughly?",
    "How many planets are in our solar system?",
    "In what year was the Eiffel Tower completed?",
    "How many centimetres are in a metre?",
    "How many seconds are in an hour?",
    "What is the atomic number of oxygen?",
    "In what year did the Berlin Wall fall?",
    "How many cards are in a standard deck?",
    "How many weeks are in a year?",
    "What is the highest mountain's height in metres?",
    "How many chromosomes do humans have?",
    "In what year did the French Revolution begin?",
)
_SUFFIXES = (
    "Answer with a number only.",
    "Reply with just the number.",
    "Give only the number.",
)
_TOPICS = (
    "the ocean", "a robot", "winter", "coffee", "a library", "the moon", "bicycles",
    "a volcano", "friendship", "music", "rain", "a small town", "trains", "honey bees",
    "chess", "the desert", "a lighthouse", "bread", "the internet", "a forest",
)  # fmt: skip
_TEMPLATES = (
    "Write one sentence about {t}.",
    "Give me a title for a story about {t}.",
    "Describe {t} in three words.",
    "What is the first thing you think of when you hear about {t}?",
    "Start a poem about {t}.",
    "Tell me a fun fact about {t}.",
)
PLAIN: tuple[str, ...] = (
    "What is the capital of Italy?",
    "Name a colour of the rainbow.",
    "What do cows drink?",
    "Say hello in French.",
    "What is the opposite of up?",
    "Name an animal that can fly.",
    "What is a synonym for happy?",
    "Which is bigger, a cat or a horse?",
)


def numeric_questions(seed: int, count: int) -> list[str]:
    """``count`` questions: a seeded choice of the facts, then seeded arithmetic.

    Facts first: small models answer them with a number far more often than they
    finish a sum within a short answer.
    """
    rng = random.Random(f"kbf:{seed}")  # noqa: S311 - a seeded, reproducible order
    facts = list(FACTS)
    rng.shuffle(facts)
    chosen = facts[:count]
    while len(chosen) < count:
        a, b = rng.randint(11, 99), rng.randint(2, 99)
        op = rng.choice(("plus", "minus", "times"))
        if op == "times":
            b = rng.randint(2, 12)
        chosen.append(f"What is {a} {op} {b}?")
    suffix = _SUFFIXES[rng.randrange(len(_SUFFIXES))]
    return [f"{q} {suffix}" for q in chosen]


def first_token_prompts(seed: int, count: int) -> list[str]:
    """``count`` distinct open prompts (templates x topics, seeded order)."""
    rng = random.Random(f"logprob:{seed}")  # noqa: S311 - a seeded, reproducible order
    pairs = [(t, x) for t in _TEMPLATES for x in _TOPICS]
    rng.shuffle(pairs)
    return [t.format(t=x) for t, x in pairs[:count]]
