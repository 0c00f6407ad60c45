"""Reading a prompt in the model's vocabulary: which words are rewritten, as what, and how the front doors show it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from typer.testing import CliRunner

from videogen import Storyboard, load_pipeline
from videogen.cli import app
from videogen.errors import UsageError
from videogen.models.registry import BUILTIN_ROOT
from videogen.prompt_weights import format_prompt_weights, parse_prompt_weights
from videogen.vocabulary import MAX_ROW_RUNS, MIN_SIMILARITY, Rewrite, Vocabulary, apply_rewrites, cuts
from videogen.world import Scene, caption, sample_attributes, training_vocabulary
from videogen.world.captions import CAMERA_PHRASES, PHRASES

VOCABULARY = Vocabulary(
    phrases=("a watercolour of", "mountains", "a lake", "in thick fog", "a kite", "a small boat", "the sea", "in heavy rain"),
    reserved_phrases=("camera pans right",), joining_words=("above", "on"), words=("slow",),
)


def table_similarity(table: dict[str, tuple[str, float]]):
    """A Similarity that knows only `table` (text -> (target, cosine)); every other text scores 0.1 with everything."""

    def similarity(texts: list[str]) -> torch.Tensor:
        scores = torch.full((len(texts), len(VOCABULARY.targets)), 0.1)
        for row, text in enumerate(texts):
            if text in table:
                target, cosine = table[text]
                scores[row, VOCABULARY.targets.index(target)] = cosine
        return scores

    return similarity


def test_words_the_model_knows_are_never_rewritten():
    asked = []
    text = "Mountains above a lake, in thick fog, slow camera pans right"
    assert VOCABULARY.rewrites(text, lambda texts: asked.append(texts) or torch.zeros(len(texts), 6)) == []
    assert asked == []  # nothing unknown: the encoder is not even asked


def test_unknown_runs_become_the_nearest_phrase_keeping_a_capital():
    similarity = table_similarity({"An aquarelle of": ("a watercolour of", 0.6), "alpine summits": ("mountains", 0.65),
                                   "shrouded in haze": ("in thick fog", 0.59)})
    text = "An aquarelle of alpine summits above a lake, shrouded in haze"
    rewrites = VOCABULARY.rewrites(text, similarity)
    assert [(r.words, r.phrase) for r in rewrites] == [("An aquarelle of", "A watercolour of"), ("alpine summits", "mountains"),
                                                      ("shrouded in haze", "in thick fog")]
    assert apply_rewrites(text, [], rewrites)[0] == "A watercolour of mountains above a lake, in thick fog"


def test_a_guess_below_the_threshold_keeps_the_words():
    similarity = table_similarity({"a montgolfier aloft": ("mountains", MIN_SIMILARITY - 0.06)})
    assert VOCABULARY.rewrites("a lake, a montgolfier aloft", similarity) == []


def test_spans_stop_at_joining_words_and_after_of():
    words = "a watercolour of alpine summits above a still mere".split()
    assert VOCABULARY.rows(words) == [[(3, 5)], [(7, 9)]]  # "above" keeps the two runs apart
    spans = [" ".join(words[start:end]) for start, end in VOCABULARY.candidate_spans(words, (3, 5), 0, len(words))]
    assert "alpine summits" in spans and "of alpine summits" not in spans and not any("above" in span for span in spans)
    words = "an aquarelle of hills".split()
    spans = [" ".join(words[start:end]) for start, end in VOCABULARY.candidate_spans(words, (1, 2), 0, len(words))]
    assert sorted(spans) == ["an aquarelle", "an aquarelle of", "aquarelle", "aquarelle of"]


def test_a_row_of_unknown_runs_is_cut_where_its_parts_read_better():
    assert VOCABULARY.rows("a yacht under sail".split()) == [[(1, 2), (3, 4)]]
    assert cuts(3) == [[(0, 0), (1, 1), (2, 2)], [(0, 0), (1, 2)], [(0, 1), (2, 2)], [(0, 2)]]
    one = table_similarity({"a yacht under sail": ("a small boat", 0.83), "a yacht": ("a small boat", 0.85), "under sail": ("a lake", 0.5)})
    assert [(r.words, r.phrase) for r in VOCABULARY.rewrites("a lake, a yacht under sail", one)] == [("a yacht under sail", "a small boat")]
    two = table_similarity({"alpine summits at sundown": ("mountains", 0.55), "alpine summits": ("mountains", 0.65),
                            "at sundown": ("in thick fog", 0.6)})  # the words between go with the stretch after them
    assert [(r.words, r.phrase) for r in VOCABULARY.rewrites("alpine summits at sundown", two)] == [
        ("alpine summits", "mountains"), ("at sundown", "in thick fog")]


def test_a_phrase_says_the_words_before_it_in_its_own_way():
    similarity = table_similarity({"wide bay": ("the sea", 0.6), "downpour": ("in heavy rain", 0.6)})
    text = "mountains above a wide bay, during a downpour"
    assert apply_rewrites(text, [], VOCABULARY.rewrites(text, similarity))[0] == "mountains above the sea, in heavy rain"


def test_a_long_row_of_unknown_words_is_read_in_rows_of_a_few_runs():
    words = " and ".join(["cats", "dogs", "owls", "fish", "newts", "toads"]).split()
    assert [len(row) for row in VOCABULARY.rows(words)] == [MAX_ROW_RUNS, 6 - MAX_ROW_RUNS]


def test_two_rows_reaching_into_the_same_words_do_not_both_rewrite_them():
    text = "a wide bay in at by the downpour"  # four function words apart: two rows, whose spans may meet in between
    assert len(VOCABULARY.rows(text.split())) == 2
    similarity = table_similarity({"wide bay in at by": ("the sea", 0.7), "at by the downpour": ("in heavy rain", 0.6)})
    assert [rewrite.words for rewrite in VOCABULARY.rewrites(text, similarity)] == ["a wide bay in at by"]


def test_words_that_describe_a_known_word_stay():
    """An unknown word beside a known one most likely describes it; a phrase in its place would add a thing."""
    similarity = table_similarity({"wooden": ("a small boat", 0.9), "misty": ("in thick fog", 0.9), "drifts": ("a kite", 0.9)})
    assert VOCABULARY.rewrites("a wooden boat, misty mountains, a kite drifts", similarity) == []


def test_words_nearest_a_reserved_phrase_stay_as_written():
    similarity = table_similarity({"cars": ("camera pans right", 0.6), "the view sweeps rightward": ("camera pans right", 0.6),
                                   "a meadow": ("a lake", 0.5)})
    assert VOCABULARY.rewrites("a lake, cars, the view sweeps rightward", similarity) == []
    assert [r.phrase for r in VOCABULARY.rewrites("a meadow, cars", similarity)] == ["a lake"]


def test_possessives_and_other_scripts_are_words():
    assert VOCABULARY.is_known("lake's") and VOCABULARY.is_known("Mountains’") and not VOCABULARY.is_known("sundown's")
    similarity = table_similarity({"été": ("in thick fog", 0.6)})
    (rewrite,) = VOCABULARY.rewrites("the lake's shore, été", similarity)
    assert rewrite.words == "été"  # one word, not "t" after an unknown "é"


def test_an_article_before_a_rewritten_noun_goes_with_it():
    similarity = table_similarity({"highway": ("mountains", 0.6)})
    text = "a lake, a highway"
    assert apply_rewrites(text, [], VOCABULARY.rewrites(text, similarity))[0] == "a lake, mountains"


def test_weighted_words_keep_their_weight_through_a_rewrite():
    text, spans = parse_prompt_weights("(aquarelle:1.3) of hills, (misty:0.8) lake")
    rewrite = Rewrite(0, 9, "aquarelle", "a watercolour", 0.6)
    moved_text, moved_spans = apply_rewrites(text, spans, [rewrite])
    assert format_prompt_weights(moved_text, moved_spans) == "(a watercolour:1.3) of hills, (misty:0.8) lake"
    assert format_prompt_weights(*parse_prompt_weights("a (misty:1.3) lake")) == "a (misty:1.3) lake"
    assert format_prompt_weights(*parse_prompt_weights("(misty:1.23456789) lake")) == "(misty:1.23456789) lake"
    text, spans = parse_prompt_weights("(alpine:1.3) (summits:0.8) at dawn")  # two weights on one rewrite: one span
    moved_text, moved_spans = apply_rewrites(text, spans, [Rewrite(0, 14, "alpine summits", "mountains", 0.65)])
    assert format_prompt_weights(moved_text, moved_spans) == "(mountains:1.05) at dawn"


@pytest.mark.parametrize("config, problem", [
    ("words", "must be a mapping"), ({"phrases": [], "words": []}, "has no phrases"),
    ({"phrases": ["a lake", 3]}, "phrases must be a list of non-empty texts"), ({"phrases": ["a"], "colours": []}, "must be a mapping"),
])
def test_a_malformed_vocabulary_names_its_file(config, problem):
    with pytest.raises(UsageError, match=f"model: models/x/model_index.json: vocabulary .*{problem}"):
        Vocabulary.from_config(config, "models/x/model_index.json")


def test_a_model_folder_with_a_bad_vocabulary_fails_on_load(tiny_model_dir, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    for item in tiny_model_dir.iterdir():
        (folder / item.name).symlink_to(item)
    index = json.loads((tiny_model_dir / "model_index.json").read_text())
    (folder / "model_index.json").unlink()
    (folder / "model_index.json").write_text(json.dumps({**index, "vocabulary": {"phrases": "a lake"}}))
    with pytest.raises(UsageError, match=f"{folder / 'model_index.json'}: vocabulary phrases must be a list"):
        load_pipeline(str(folder))


def test_the_shipped_vocabulary_is_training_phrases_only():
    """The eval's held-out phrasings measure words the model never saw: none of them may be in what it reads them as."""
    shipped = json.loads((BUILTIN_ROOT / "landscapes" / "model_index.json").read_text())["vocabulary"]
    heldout = {text for values in PHRASES.values() for _, held in values.values() for text in held if text}
    heldout |= {text for _, held in CAMERA_PHRASES.values() for text in held}
    assert shipped == training_vocabulary() and not heldout & set(shipped["phrases"] + shipped["reserved_phrases"])


def test_the_builtin_model_reads_held_out_words_as_training_phrases_and_training_captions_as_written():
    pipe = load_pipeline("builtin:landscapes")
    text, rewrites = pipe.read_prompt("An aquarelle of alpine summits, at sundown, (shrouded in haze:1.2)")
    assert text == "A watercolour of mountains, at sunset, (in thick fog:1.2)", rewrites
    rng = np.random.default_rng(0)
    for _ in range(40):
        scene = Scene(**sample_attributes(rng, "train"), camera="pan_left:0.6", seed=0)
        training_caption = caption(scene, rng, "train", complete=True)
        assert pipe.read_prompt(training_caption) == (training_caption, [])


def test_rewriting_changes_what_the_denoiser_reads_and_can_be_turned_off(tiny_pipeline, monkeypatch):
    prompt = "an aquarelle of alpine summits"
    assert tiny_pipeline.read_prompt(prompt) == (prompt, [])  # no vocabulary: read as written
    monkeypatch.setattr(tiny_pipeline, "caption_vocabulary", VOCABULARY)
    monkeypatch.setattr(tiny_pipeline, "phrase_similarity", table_similarity({"alpine summits": ("mountains", 0.65)}))
    assert tiny_pipeline.read_prompt(prompt)[0] == "an aquarelle of mountains"
    rewritten, literal = (tiny_pipeline.encode_prompt([prompt], None, False, rewrite_prompt=rewrite) for rewrite in (True, False))
    assert torch.equal(rewritten, tiny_pipeline.encode_prompt(["an aquarelle of mountains"], None, False, rewrite_prompt=False))
    assert not torch.equal(rewritten, literal)
    negative = tiny_pipeline.encode_prompt(["a lake"], prompt, True)[0]  # a negative prompt is read as written
    assert torch.equal(negative, tiny_pipeline.encode_prompt([prompt], None, False, rewrite_prompt=False)[0])


def test_cli_says_what_the_model_read_and_records_it(tmp_path):
    runner = CliRunner()
    output = tmp_path / "dunes.png"
    result = runner.invoke(app, ["image", "an aquarelle of alpine summits", "-o", str(output), "--steps", "1", "--size", "64x64"])
    assert result.exit_code == 0, result.output
    assert "read as: a watercolour of mountains" in result.output
    literal = runner.invoke(app, ["image", "an aquarelle of alpine summits", "-o", str(tmp_path / "literal.png"), "--steps", "1",
                                  "--size", "64x64", "--literal-prompt"])
    assert literal.exit_code == 0 and "read as" not in literal.output
    metadata = json.loads(Image.open(output).text["videogen"])
    assert metadata["prompt"] == "an aquarelle of alpine summits" and metadata["prompt_read_as"] == "a watercolour of mountains"
    assert "prompt_read_as" not in json.loads(Image.open(tmp_path / "literal.png").text["videogen"])


def test_storyboard_shots_record_their_reading_and_may_read_as_written(tmp_path):
    shots = [{"id": "read", "prompt": "an aquarelle of alpine summits"},
             {"id": "literal", "prompt": "an aquarelle of alpine summits", "rewrite_prompt": False}]
    path = tmp_path / "board.yaml"
    path.write_text(yaml.safe_dump({"title": "t", "defaults": {"steps": 1, "size": "64x64", "fps": 8, "frames": 2}, "shots": shots}))
    board = Storyboard.from_yaml(path)
    assert board.readings() == {"read": ["a watercolour of mountains"]}
    dry_run = CliRunner().invoke(app, ["storyboard", str(path), "-o", str(tmp_path / "out"), "--dry-run"])
    assert dry_run.exit_code == 0 and "read read as: a watercolour of mountains" in dry_run.output
    board.render(tmp_path / "out")
    read, literal = (json.loads((tmp_path / "out" / "shots" / f"{plan.stem}.mp4.json").read_text()) for plan in board.shots)
    assert read["prompt_read_as"] == "a watercolour of mountains" and "prompt_read_as" not in literal
    page = (tmp_path / "out" / "index.html").read_text()
    assert page.count("<dt>read as</dt><dd>a watercolour of mountains</dd>") == 1
