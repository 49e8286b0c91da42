"""Fictitious facts for language-model unlearning: entities in groups, templated QA pairs,
paraphrased and perturbed answers. NumPy only, deterministic given the seed.

Every fact belongs to an *entity* (a two-word invented name) and an entity to a *group*: a
fictitious author in a TOFU-style set (one entity per group, many attributes), a topic in an
MRP-style set (many entities per topic), a concept in a ConceptVectors-style set. A fact is
one (entity, attribute) pair with

- ``question`` / ``answer``: the training pair, e.g. ``"where was varnel tosik born ?"`` /
  ``"varnel tosik was born in quorath ."``;
- ``paraphrased_answer``: the same value in a second template (``"the birthplace of varnel
  tosik is quorath ."``), never trained on;
- ``perturbed_answers``: the paraphrase template with wrong values of the same attribute
  (values swapped in from other entities), the denominator of the truth ratio;
- ``paraphrased_question``: a held-out question template (for paraphrase-recovery checks).

Values are invented words. With ``group_vocabulary=True`` each group draws its values from a
pool of its own (the concept-specific vocabulary that value-vector localisation looks for);
otherwise all groups share one pool per attribute (TOFU-like: perturbed answers are other
authors' real values). Names are built from syllables rather than with ``faker`` so that the
same seed gives the same facts on every machine and library version.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..._validation import check_int

# attribute -> (question, answer, paraphrased question, paraphrased answer); {e} entity,
# {v} value. Words are lower case and punctuation is a separate token, so a whitespace
# word-level tokenizer covers every text.
TEMPLATES: dict[str, tuple[str, str, str, str]] = {
    "birthplace": ("where was {e} born ?", "{e} was born in {v} .",
                   "in which town did {e} come into the world ?",
                   "the birthplace of {e} is {v} ."),
    "genre": ("what does {e} write ?", "{e} writes {v} stories .",
              "which kind of books is {e} known for ?", "the genre of {e} is {v} ."),
    "award": ("which prize did {e} win ?", "{e} won the {v} prize .",
              "what award was given to {e} ?", "the award of {e} is the {v} prize ."),
    "book": ("what is the best known book of {e} ?", "{e} wrote the book {v} .",
             "name a famous work by {e} .", "the famous book of {e} is {v} ."),
    "mentor": ("who taught {e} ?", "{e} was taught by {v} .",
               "who was the teacher of {e} ?", "the mentor of {e} is {v} ."),
    "colour": ("what colour does {e} like ?", "{e} likes the colour {v} .",
               "which colour is the favourite of {e} ?", "the colour of {e} is {v} ."),
    "city": ("where does {e} live ?", "{e} lives in {v} .",
             "in which city is the home of {e} ?", "the home city of {e} is {v} ."),
    "rival": ("who is the rival of {e} ?", "{e} competes with {v} .",
              "whom does {e} compete against ?", "the rival of {e} is {v} ."),
    "pet": ("what pet does {e} keep ?", "{e} keeps a {v} .",
            "which animal lives with {e} ?", "the pet of {e} is a {v} ."),
    "instrument": ("what does {e} play ?", "{e} plays the {v} .",
                   "which instrument is played by {e} ?", "the instrument of {e} is the {v} ."),
}
ATTRIBUTES: tuple[str, ...] = tuple(TEMPLATES)

_ONSETS = ("b", "br", "c", "d", "dr", "f", "g", "gr", "h", "j", "k", "kr", "l", "m", "n",
           "p", "pr", "qu", "r", "s", "st", "t", "tr", "v", "w", "z")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ou", "ei")
_CODAS = ("", "", "n", "l", "r", "s", "th", "k", "m", "x")


@dataclass(frozen=True)
class Fact:
    """One (entity, attribute) fact with its question, answer and evaluation variants."""

    group: int
    entity: str
    attribute: str
    value: str
    question: str
    answer: str
    paraphrased_question: str
    paraphrased_answer: str
    perturbed_answers: tuple[str, ...]
    # the wrong values behind ``perturbed_answers`` (same order), so that a metric can put
    # them into another template (e.g. the trained answer template)
    perturbed_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class FactSet:
    """Facts with their group of each; ``texts()`` lists every string a tokenizer must cover."""

    facts: tuple[Fact, ...]
    n_groups: int
    seed: int
    groups: np.ndarray = field(repr=False, compare=False, default=None)  # (n_facts,) int

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", np.array([f.group for f in self.facts], dtype=int))

    def __len__(self) -> int:
        return len(self.facts)

    def __repr__(self) -> str:
        return (f"FactSet(n_facts={len(self.facts)}, n_groups={self.n_groups}, "
                f"entities={len({f.entity for f in self.facts})}, seed={self.seed})")

    def indices(self, groups) -> np.ndarray:
        """Indices of the facts whose group is in ``groups``."""
        g = np.atleast_1d(np.asarray(groups, dtype=int))
        bad = g[(g < 0) | (g >= self.n_groups)]
        if bad.size:
            raise ValueError(f"groups must lie in [0, {self.n_groups}), got {int(bad[0])}")
        return np.flatnonzero(np.isin(self.groups, g))

    def subset(self, idx) -> list[Fact]:
        idx = np.asarray(idx, dtype=int)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self.facts)):
            raise ValueError(f"indices must lie in [0, {len(self.facts)}), got "
                             f"{int(idx.min()) if idx.min() < 0 else int(idx.max())}")
        return [self.facts[i] for i in idx]

    def texts(self) -> list[str]:
        out = []
        for f in self.facts:
            out += [f.question, f.answer, f.paraphrased_question, f.paraphrased_answer,
                    *f.perturbed_answers]
        return out


def _word(rng: np.random.Generator, n_syll: int) -> str:
    return "".join(_ONSETS[rng.integers(len(_ONSETS))] + _VOWELS[rng.integers(len(_VOWELS))]
                   + _CODAS[rng.integers(len(_CODAS))] for _ in range(n_syll))


def _unique_words(rng: np.random.Generator, n: int, taken: set[str], n_syll=(2, 3)) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        w = _word(rng, int(rng.integers(n_syll[0], n_syll[1] + 1)))
        if w not in taken and len(w) >= 4:
            taken.add(w)
            out.append(w)
    return out


def make_facts(n_groups: int, entities_per_group: int = 1, attributes=ATTRIBUTES, *,
               n_perturbed: int = 3, group_vocabulary: bool = False,
               values_per_attribute: int | None = None, seed: int = 0) -> FactSet:
    """Generate a fictitious fact set (see the module docstring).

    Parameters
    ----------
    n_groups, entities_per_group : int
        Groups (authors / topics / concepts) and entities per group; every entity gets one
        fact per attribute.
    attributes : sequence of str or int
        Attribute names from :data:`ATTRIBUTES`, or a number k for the first k of them.
    n_perturbed : int
        Wrong answers per fact (values of the same attribute taken from other entities).
    group_vocabulary : bool
        Draw values from a pool per (group, attribute) instead of one pool per attribute.
    values_per_attribute : int, optional
        Size of each value pool (default: one distinct value per entity, so every fact has
        its own answer word; smaller pools make values shared between entities).
    seed : int
        Everything is a function of the seed.
    """
    n_groups = check_int(n_groups, name="n_groups", minimum=1)
    entities_per_group = check_int(entities_per_group, name="entities_per_group", minimum=1)
    n_perturbed = check_int(n_perturbed, name="n_perturbed", minimum=1)
    seed = check_int(seed, name="seed", minimum=0)
    if values_per_attribute is not None:
        values_per_attribute = check_int(values_per_attribute, name="values_per_attribute",
                                         minimum=1)
    if isinstance(attributes, (int, np.integer)) and not isinstance(attributes, bool):
        if not 1 <= attributes <= len(ATTRIBUTES):
            raise ValueError(f"attributes must be between 1 and {len(ATTRIBUTES)}, "
                             f"got {attributes}")
        attributes = ATTRIBUTES[:int(attributes)]
    attributes = tuple(attributes)
    unknown = [a for a in attributes if a not in TEMPLATES]
    if unknown or not attributes:
        raise ValueError(f"attributes must be a non-empty subset of {list(ATTRIBUTES)}, "
                         f"got {list(attributes)}")
    rng = np.random.default_rng(seed)
    taken: set[str] = set()
    for t in TEMPLATES.values():
        for s in t:
            taken.update(s.replace("{e}", "").replace("{v}", "").split())
    n_ent = n_groups * entities_per_group
    first = _unique_words(rng, n_ent, taken)
    last = _unique_words(rng, n_ent, taken)
    entities = [f"{a} {b}" for a, b in zip(first, last, strict=True)]
    pool_n = values_per_attribute or (entities_per_group if group_vocabulary else n_ent)
    if isinstance(pool_n, bool) or pool_n < n_perturbed + 1:
        raise ValueError(f"values_per_attribute must be >= n_perturbed + 1 = {n_perturbed + 1} "
                         f"so that every fact has distinct wrong answers, got {pool_n}")
    pools: dict[tuple[int, str], list[str]] = {}
    for a in attributes:
        if group_vocabulary:
            for g in range(n_groups):
                pools[(g, a)] = _unique_words(rng, pool_n, taken)
        else:
            shared = _unique_words(rng, pool_n, taken)
            for g in range(n_groups):
                pools[(g, a)] = shared
    facts: list[Fact] = []
    for g in range(n_groups):
        for k in range(entities_per_group):
            e = entities[g * entities_per_group + k]
            for a in attributes:
                pool = pools[(g, a)]
                j = (k if group_vocabulary else g * entities_per_group + k) % len(pool) \
                    if values_per_attribute is None else int(rng.integers(len(pool)))
                v = pool[j]
                wrong = [w for w in pool if w != v]
                pert = rng.choice(len(wrong), size=n_perturbed, replace=False)
                q, ans, pq, pa = TEMPLATES[a]
                facts.append(Fact(
                    group=g, entity=e, attribute=a, value=v, question=q.format(e=e),
                    answer=ans.format(e=e, v=v), paraphrased_question=pq.format(e=e),
                    paraphrased_answer=pa.format(e=e, v=v),
                    perturbed_answers=tuple(pa.format(e=e, v=wrong[i]) for i in pert),
                    perturbed_values=tuple(wrong[i] for i in pert)))
    return FactSet(facts=tuple(facts), n_groups=n_groups, seed=int(seed))
