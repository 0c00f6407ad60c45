"""Reading a prompt in a model's own words: each run of words that its training captions never used is rewritten as
the nearest phrase they did use, by the text encoder's sentence similarity.

A small model learns its training captions' tokens more than what the encoder says they mean: the built-in model reads
held-out phrasings of the world's values ("an aquarelle of") at 0.42 where it reads their training phrasings at 0.65,
while MiniLM itself puts 27 of 35 of those phrases nearest a training phrase of the right value. So a word the model
never saw is said again in words it knows before it is encoded: prompt rewriting towards the training captions, as
DALL-E 3's prompt upsampling does with a language model (Betker et al. 2023), here with the model's own text encoder.
Words the model knows are never changed, nor is a prompt of a model that ships no vocabulary.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

import torch

from videogen.errors import UsageError
from videogen.models.text_encoder import prompt_clauses

# Below this cosine the nearest phrase is a guess ("a montgolfier aloft" -> "mountains" at 0.39), and the words stay.
MIN_SIMILARITY = 0.45
# Function words a rewritten span may take in on each side of its unknown ones, and the most that may lie between two
# unknown words of one span ("a yacht under sail").
SPAN_REACH = 3
# The most runs of unknown words one row holds: each row is cut every way it can be (2 ** (runs - 1) ways).
MAX_ROW_RUNS = 4
WORD = re.compile(r"[^\W_][\w'’-]*")  # letters and digits in any script, with inner apostrophes and hyphens
WORD_PARTS = re.compile(r"[^\W_]+")  # a word is known when all its parts are: "late-afternoon" -> late, afternoon
POSSESSIVE = re.compile(r"['’]s?$")  # "the lake's edge": "lake's" is known when "lake" is
# Words that name nothing of a scene ("sunset over a lake") are never what a prompt needs rewritten.
ARTICLES = frozenset(("a", "an", "the"))
FUNCTION_WORDS = ARTICLES | frozenset("""and or but nor of in on at by for with without from to into onto over under above below
    across along around among amid behind beside between beyond near through toward towards up down off out past upon
    within during beneath underneath against before after until throughout about atop like via
    while as is are was be it its this that these those there here very so some all each every no not""".split())
# A phrase may end in "of" ("a watercolour of") but no span reaches past it: what follows is what it describes.
DESCRIBES_WHAT_FOLLOWS = "of"

Similarity = Callable[[list[str]], torch.Tensor]  # N texts -> (N, P) cosine similarity to the vocabulary's targets


@dataclass(frozen=True)
class Rewrite:
    """The text's characters start:end, `words`, read as the training phrase `phrase` at cosine `similarity`."""

    start: int
    end: int
    words: str
    phrase: str
    similarity: float


@dataclass(frozen=True)
class Vocabulary:
    """The phrases a model's training captions are made of; phrases they use that a rewrite never writes (the camera's
    moves: MiniLM reads half the unseen ones as another move, "cars" as "truck right", and a move read into a prompt
    moves the camera), so that words nearest one of them stay as written; the words that join phrases ("mountains above
    a lake"), which no rewrite reaches over; and other words the captions use that are no phrase of their own ("slow
    pan to the left")."""

    phrases: tuple[str, ...]
    reserved_phrases: tuple[str, ...] = ()
    joining_words: tuple[str, ...] = ()
    words: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config, where: str) -> Vocabulary | None:
        """The vocabulary kept in a model's config (a mapping of the four lists by name), or None if it has none;
        `where` names the config in errors."""
        if config is None:
            return None
        lists = ("phrases", "reserved_phrases", "joining_words", "words")
        if not isinstance(config, dict) or set(config) - set(lists):
            raise UsageError(f"model: {where}: vocabulary must be a mapping of {', '.join(lists)}, got {config!r:.80}")
        for name in lists:
            texts = config.get(name, [])
            if not isinstance(texts, list) or not all(isinstance(text, str) and text.strip() for text in texts):
                raise UsageError(f"model: {where}: vocabulary {name} must be a list of non-empty texts")
        if not config.get("phrases"):
            raise UsageError(f"model: {where}: vocabulary has no phrases")
        return cls(*(tuple(config.get(name, [])) for name in lists))

    @property
    def targets(self) -> tuple[str, ...]:
        """What a Similarity scores texts against: the phrases, then the reserved phrases."""
        return self.phrases + self.reserved_phrases

    @functools.cached_property
    def known_words(self) -> frozenset[str]:
        words = (part for text in (*self.targets, *self.joining_words, *self.words) for part in WORD_PARTS.findall(text.lower()))
        return FUNCTION_WORDS | frozenset(words)

    def is_known(self, word: str) -> bool:
        return all(part in self.known_words for part in WORD_PARTS.findall(POSSESSIVE.sub("", word.lower())))

    def may_take_in(self, words: list[str]) -> bool:
        """Whether a rewrite may swallow these known words: function words only, none of them joining words or
        DESCRIBES_WHAT_FOLLOWS, so a rewrite never drops a word the model knows nor joins two phrases."""
        return all(word in FUNCTION_WORDS and word not in (*self.joining_words, DESCRIBES_WHAT_FOLLOWS) for word in words)

    def unknown_runs(self, words: list[str]) -> list[tuple[int, int]]:
        """Index ranges [i, j) of the runs of unknown words."""
        runs = []
        for index, word in enumerate(words):
            if self.is_known(word):
                continue
            if runs and runs[-1][1] == index:
                runs[-1] = (runs[-1][0], index + 1)
            else:
                runs.append((index, index + 1))
        return runs

    def touches_known_word(self, words: list[str], stretch: tuple[int, int]) -> bool:
        """Whether unknown words sit right beside a word the model knows that is not a function word: then they most
        likely describe that word ("a wooden boat", "misty pine forest", "a boat drifts"), which the model reads anyway,
        where a phrase in their place would add a thing of its own ("pine woods", "drifting clouds")."""
        first, last = stretch
        beside = words[first - 1 : first] + words[last : last + 1]
        return any(self.is_known(word) and word.lower() not in FUNCTION_WORDS for word in beside)

    def rows(self, words: list[str]) -> list[list[tuple[int, int]]]:
        """The runs of unknown words in rows that one rewrite may cover together: runs up to SPAN_REACH words apart
        with only words a rewrite may take in between ("a yacht under sail", "alpine summits at sundown"), at most
        MAX_ROW_RUNS a row."""
        rows, lower = [], [word.lower() for word in words]
        for run in self.unknown_runs(words):
            between = lower[rows[-1][-1][1] : run[0]] if rows else []
            if rows and len(rows[-1]) < MAX_ROW_RUNS and len(between) <= SPAN_REACH and self.may_take_in(between):
                rows[-1].append(run)
            else:
                rows.append([run])
        return rows

    def candidate_spans(self, words: list[str], stretch: tuple[int, int], lowest: int, highest: int) -> list[tuple[int, int]]:
        """Word ranges that may be rewritten for a stretch of unknown words: it, with up to SPAN_REACH words either side
        that it may take in ("at sundown"), within [lowest, highest), the right side ending in DESCRIBES_WHAT_FOLLOWS
        if need be ("an aquarelle of")."""
        first, last = stretch
        lower = [word.lower() for word in words]
        starts = [start for start in range(max(lowest, first - SPAN_REACH), first + 1) if self.may_take_in(lower[start:first])]
        ends = [end for end in range(last, min(highest, last + SPAN_REACH) + 1) if self.may_take_in(lower[last:end])
                or (lower[end - 1] == DESCRIBES_WHAT_FOLLOWS and self.may_take_in(lower[last:end - 1]))]
        return [(start, end) for start in starts for end in ends]

    def rewrites(self, text: str, similarity: Similarity) -> list[Rewrite]:
        """The rewrites of a text, in its order. Each row of unknown runs (see rows) is cut into the stretches whose
        nearest training phrases are the nearest on average, so "a yacht under sail" is read as one phrase and "alpine
        summits at sundown" as two; the words between two stretches go with the one after them ("at sundown"). A
        stretch becomes the phrase nearest any of its candidate spans where that reaches MIN_SIMILARITY and is not a
        reserved phrase; one that touches a known word stays as it is."""
        # each candidate span's characters, its (row, first run, last run), and where each word it might have taken in on
        # its left starts
        spans, owners, lead_ins, row_sizes = [], [], [], []
        for clause_start, clause in prompt_clauses(text):
            matches = list(WORD.finditer(clause))
            words = [match.group() for match in matches]
            for row in self.rows(words):
                row_sizes.append(len(row))
                for first, last in itertools.combinations_with_replacement(range(len(row)), 2):
                    stretch = (row[first][0], row[last][1])
                    if self.touches_known_word(words, stretch):
                        continue
                    lowest = row[first - 1][1] if first else 0
                    highest = row[last][1] if last + 1 < len(row) else len(words)
                    candidates = self.candidate_spans(words, stretch, lowest, highest)
                    earliest = min(candidates)[0]  # the stretch itself is always a candidate
                    for start, end in candidates:
                        spans.append((clause_start + matches[start].start(), clause_start + matches[end - 1].end()))
                        owners.append((len(row_sizes) - 1, first, last))
                        lead_ins.append([clause_start + match.start() for match in matches[earliest:start]])
        if not spans:
            return []
        scores, nearest = similarity([text[start:end] for start, end in spans]).max(dim=1)  # (N, P) -> (N,)
        best: dict[tuple[int, int, int], int] = {}  # each stretch's most similar span
        for index, owner in enumerate(owners):
            if owner not in best or scores[index] > scores[best[owner]]:
                best[owner] = index
        rewrites = []
        for row, size in enumerate(row_sizes):
            chosen = [best[(row, *piece)] for piece in max(cuts(size), key=lambda pieces: mean_score(row, pieces, best, scores))
                      if (row, *piece) in best]
            for index in chosen:
                if scores[index] >= MIN_SIMILARITY and nearest[index] < len(self.phrases):
                    phrase = self.targets[int(nearest[index])]
                    start, end = spans[index]
                    start = lead_in(text, start, lead_ins[index], phrase)
                    if text[start].isupper():  # "An aquarelle of" -> "A watercolour of"
                        phrase = phrase[0].upper() + phrase[1:]
                    rewrites.append(Rewrite(start, end, text[start:end], phrase, round(float(scores[index]), 3)))
        kept = []  # two rows' spans may reach into the same function words from either side: the first keeps them
        for rewrite in sorted(rewrites, key=lambda rewrite: rewrite.start):
            if not kept or rewrite.start >= kept[-1].end:
                kept.append(rewrite)
        return kept


def lead_in(text: str, start: int, word_starts: list[int], phrase: str) -> int:
    """Where a rewrite as `phrase` starts: its span's start, or earlier, over the words just before it that the phrase
    says again in its own way: the function words before a phrase that opens with a preposition ("during a downpour"
    -> "in pouring rain"), else an article just before it ("a wide bay" -> "the coast", "a highway" -> "rolling
    hills": not "a the coast", "a rolling hills")."""
    if not word_starts:
        return start
    opening = phrase.split()[0].lower()
    if opening in FUNCTION_WORDS and opening not in ARTICLES:
        return word_starts[0]
    return word_starts[-1] if text[word_starts[-1] : start].split()[0].lower() in ARTICLES else start


def cuts(size: int) -> list[list[tuple[int, int]]]:
    """Every way to cut items 0..size-1 into consecutive pieces (first, last): 2 -> [(0, 0), (1, 1)], [(0, 1)]."""
    if size == 0:
        return [[]]
    return [[(0, last)] + [(first + last + 1, end + last + 1) for first, end in rest]
            for last in range(size) for rest in cuts(size - last - 1)]


def mean_score(row: int, pieces: list[tuple[int, int]], best: dict, scores: torch.Tensor) -> float:
    """The mean similarity of a cut's pieces that have a span (those touching a known word have none)."""
    values = [float(scores[best[(row, *piece)]]) for piece in pieces if (row, *piece) in best]
    return sum(values) / len(values) if values else -1.0


def apply_rewrites(text: str, spans: list[tuple[int, int, float]], rewrites: list[Rewrite]) -> tuple[str, list[tuple[int, int, float]]]:
    """The text with its rewrites made, and its weighted character spans moved with it: a span overlapping a rewrite
    covers its phrase, and spans that then overlap are one, at their mean weight ("(alpine:1.3) (summits:0.8)" ->
    "(mountains:1.05)")."""

    def moved(position: int, rewrite: Rewrite, is_end: bool) -> int:
        if position <= rewrite.start:
            return position
        if position >= rewrite.end:
            return position + len(rewrite.phrase) - len(rewrite.words)
        return rewrite.start + (len(rewrite.phrase) if is_end else 0)

    for rewrite in sorted(rewrites, key=lambda rewrite: -rewrite.start):
        text = text[: rewrite.start] + rewrite.phrase + text[rewrite.end :]
        spans = [(moved(start, rewrite, False), moved(end, rewrite, True), weight) for start, end, weight in spans]
    merged: list[tuple[int, int, list[float]]] = []
    for start, end, weight in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]), merged[-1][2] + [weight])
        else:
            merged.append((start, end, [weight]))
    return text, [(start, end, sum(weights) / len(weights)) for start, end, weights in merged]
