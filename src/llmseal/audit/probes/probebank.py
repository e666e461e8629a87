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
    "How many days are there in a week?",
    "How many months are there in a year?",
    "How many days are in the month of April?",
    "How many days are in the month of February in a common year?",
    "How many minutes are there in an hour?",
    "How many hours are there in a day?",
    "How many sides does a triangle have?",
    "How many sides does a square have?",
    "How many sides does an octagon have?",
    "How many sides does a pentagon have?",
    "How many degrees are there in a right angle?",
    "How many degrees are there in a full circle?",
    "How many degrees do the angles of a triangle add up to?",
    "How many legs does an insect have?",
    "How many legs does a dog have?",
    "How many arms does an octopus have?",
    "How many wheels does a tricycle have?",
    "How many wheels does a bicycle have?",
    "How many letters are in the English alphabet?",
    "How many vowels are in the English alphabet?",
    "How many colours are in a rainbow?",
    "How many notes are in a musical octave on a piano, counting black and white keys?",
    "How many players are on a basketball team on the court?",
    "How many players are on a volleyball team on the court?",
    "How many innings are in a standard baseball game?",
    "How many squares are on a chess board?",
    "How many pieces does each player have at the start of a chess game?",
    "How many dots are on a standard six-sided die in total?",
    "How many grams are in a kilogram?",
    "How many millimetres are in a centimetre?",
    "How many metres are in a kilometre?",
    "How many millilitres are in a litre?",
    "How many inches are in a foot?",
    "How many feet are in a yard?",
    "How many ounces are in a pound?",
    "How many cents are in a dollar?",
    "How many years are in a century?",
    "How many years are in a decade?",
    "How many years are in a millennium?",
    "How many zeros are in one million?",
    "How many zeros are in one thousand?",
    "How many hearts does an octopus have?",
    "How many eyes does a human have?",
    "How many fingers are on one human hand?",
    "How many toes does a human usually have in total?",
    "How many chambers does the human heart have?",
    "How many lungs does a human have?",
    "What is the atomic number of hydrogen?",
    "What is the atomic number of helium?",
    "What is the atomic number of nitrogen?",
    "What is the atomic number of iron?",
    "What is the atomic number of gold?",
    "What is the boiling point of water in degrees Celsius?",
    "What is the freezing point of water in degrees Celsius?",
    "What is normal human body temperature in degrees Celsius?",
    "How many moons does Mars have?",
    "How many moons does Earth have?",
    "Which planet from the Sun is the Earth?",
    "How many days does it take the Earth to orbit the Sun?",
    "In what year did the First World War begin?",
    "In what year did the First World War end?",
    "In what year did the Second World War begin?",
    "In what year did the United States declare independence?",
    "In what year did the twenty-first century begin?",
    "In what year was the first iPhone released?",
    "How many stars are on the flag of the United States?",
    "How many stripes are on the flag of the United States?",
    "How many states are in the United States?",
    "How many rings are on the Olympic flag?",
    "How many strings does a violin have?",
    "How many sides does a coin have?",
    "How many zodiac signs are there?",
    "How many time zones does the Earth have, roughly?",
    "How many bytes are in a kilobyte?",
    "How many bits are in a byte?",
    "What is the square root of 81?",
    "What is the square root of 144?",
    "What is ten squared?",
    "What is two to the power of ten?",
    "What is half of one hundred?",
    "What is a dozen?",
    "How many items are in a baker's dozen?",
    "How many people are in a quartet?",
    "How many people are in a trio?",
    "How many years does a silver wedding anniversary mark?",
    "How many years does a golden wedding anniversary mark?",
)
_SUFFIXES = (
    "Answer with a number only.",
    "Reply with just the number.",
    "Give only the number.",
)
_VARIED = (
    *_SUFFIXES,
    "Just the number, please.",
    "Only the number is fine.",
    "A number is all I need.",
    "Please answer with digits.",
    "Number only, thanks.",
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


def numeric_questions(seed: int, count: int, *, varied: bool = False) -> list[str]:
    """``count`` questions: a seeded choice of the facts, then seeded arithmetic.

    Facts first: small models answer them with a number far more often than they
    finish a sum within a short answer. One answer request ends every question, or
    with ``varied`` (stealth probes) a seeded one per question.
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
    if varied:
        return [f"{q} {rng.choice(_VARIED)}" for q in chosen]
    return [f"{q} {suffix}" for q in chosen]


def first_token_prompts(seed: int, count: int) -> list[str]:
    """``count`` distinct open prompts (templates x topics, seeded order)."""
    rng = random.Random(f"logprob:{seed}")  # noqa: S311 - a seeded, reproducible order
    pairs = [(t, x) for t in _TEMPLATES for x in _TOPICS]
    rng.shuffle(pairs)
    return [t.format(t=x) for t, x in pairs[:count]]
