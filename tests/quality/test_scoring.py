"""Each scorer, and the scorers read from the default schema."""

from __future__ import annotations

import pytest

from gaia.prompts import default_schema
from gaia.quality.scoring import (
    FieldKind,
    accuracy,
    count_error,
    count_score,
    fields_of,
    is_unknown,
    moments_f1,
    normalise_term,
    score_answers,
    set_f1,
    side_by_side,
)


def test_scorers_are_read_from_the_default_schema():
    kinds = {f.path: f.kind for f in fields_of(default_schema())}
    assert kinds["setting.environment"] is FieldKind.CATEGORY
    assert kinds["confidence"] is FieldKind.CATEGORY
    assert kinds["people_present"] is FieldKind.BOOLEAN
    assert kinds["tags"] is FieldKind.SET
    assert kinds["subjects[].species"] is FieldKind.SET
    assert kinds["behaviours[].behaviour"] is FieldKind.SET
    assert kinds["subjects[].count"] is FieldKind.COUNT
    assert kinds["notable_moments[].time_s"] is FieldKind.MOMENTS
    assert kinds["behaviours[].start_s"] is FieldKind.MOMENTS
    assert kinds["summary"] is FieldKind.TEXT
    assert kinds["subjects[].description"] is FieldKind.TEXT
    assert kinds["subjects[].scientific_name"] is FieldKind.TEXT


def test_scorers_follow_the_schema_not_the_names():
    schema = {"type": "object", "properties": {
        "mood": {"type": "string", "enum": ["calm", "agitated"]},
        "animals": {"type": "array", "items": {"type": "string"}},
        "legs": {"type": "integer"},
        "events": {"type": "array", "items": {"type": "object", "properties": {
            "at": {"type": "number"}, "what": {"type": "string"}}}},
    }}
    kinds = {f.path: f.kind for f in fields_of(schema)}
    assert kinds == {"mood": FieldKind.CATEGORY, "animals": FieldKind.SET, "legs": FieldKind.COUNT,
                     "events[].what": FieldKind.SET, "events[].at": FieldKind.MOMENTS}


@pytest.mark.parametrize(("a", "b"), [("Kittens", "cat"), ("Dog, border collie type", "dog"), ("domestic cat, tabby",
                                      "cat"), ("Red-Fox", "red fox"), ("birds!", "bird"), ("outdoors", "outdoor")])
def test_normalisation_and_synonyms(a, b):
    assert normalise_term(a) == normalise_term(b)


def test_accuracy():
    assert accuracy("indoor", "Indoor") == 1.0
    assert accuracy("indoor", "outdoor") == 0.0
    assert accuracy(True, True) == 1.0 and accuracy(True, False) == 0.0


def test_set_f1():
    assert set_f1([], []) == 1.0
    assert set_f1(["cat"], []) == 0.0
    assert set_f1(["cat", "dog"], ["kitten", "puppies"]) == 1.0
    assert set_f1(["cat", "dog"], ["cat"]) == pytest.approx(2 / 3)
    assert set_f1(["cat", "dog"], ["cat", "fox", "crow"]) == pytest.approx(0.4)


def test_count_error_and_score():
    assert count_error(2, 2) == 0 and count_score(0) == 1.0
    assert count_error(1, 3) == 2 and count_score(2) == pytest.approx(1 / 3)
    assert count_error(2, None) == 2


def test_moments_within_tolerance():
    assert moments_f1([1.0, 5.0], [1.5, 5.4], tolerance_s=1.0) == 1.0
    assert moments_f1([1.0, 5.0], [3.0], tolerance_s=1.0) == 0.0
    assert moments_f1([1.0, 5.0], [1.2], tolerance_s=1.0) == pytest.approx(2 / 3)
    # one candidate time matches one reference time only
    assert moments_f1([1.0, 1.4], [1.2], tolerance_s=1.0) == pytest.approx(2 / 3)
    assert moments_f1([], []) == 1.0


def test_unknown():
    assert is_unknown(None) and is_unknown("") and is_unknown("Unknown") and is_unknown([])
    assert not is_unknown("cat") and not is_unknown(0) and not is_unknown(False)


def _answer(species=("cat",), count=1, env="indoor", tags=("cat", "sofa"), moments=(1.0, 3.0), summary="A cat."):
    return {"summary": summary, "subjects": [{"species": s, "scientific_name": "", "count": count, "description": ""}
                                             for s in species],
            "behaviours": [], "setting": {"environment": env, "place": "", "lighting": "", "description": ""},
            "notable_moments": [{"time_s": t, "description": ""} for t in moments], "people_present": False,
            "welfare_concerns": [], "frame_quality": "good", "confidence": "high", "tags": list(tags)}


def test_a_configuration_scored_overall_per_field_and_for_coverage():
    schema = default_schema()
    ref = {"a.mp4": _answer(), "b.mp4": _answer(species=("dog",), tags=("dog",))}
    same = score_answers(schema, ref, ref)
    assert same.score == 1.0 and same.answered == 2
    worse = score_answers(schema, ref, {"a.mp4": _answer(count=3, env="unknown"), "b.mp4": None})
    assert worse.score is not None and worse.score < 0.6
    env = worse.field("setting.environment")
    assert env.score == 0.0 and env.unknown_rate == 1.0
    assert worse.field("subjects[].count").error == 2.0
    assert worse.per_video["b.mp4"] == 0.0  # a video without an answer loses every field
    assert worse.field("summary").score is None  # free text is not scored...
    rows = side_by_side(schema, ref, {"a.mp4": _answer(summary="Another cat.")})
    assert {"rel_path": "a.mp4", "field": "summary", "reference": "A cat.", "candidate": "Another cat."} in rows


def test_partial_labels_score_only_what_they_hold():
    schema = default_schema()
    labels = {"a.mp4": {"subjects": [{"species": "cat", "count": 2}], "people_present": True}}
    card = score_answers(schema, labels, {"a.mp4": _answer(count=2)})
    scored = {f.path for f in card.fields if f.videos}
    assert scored == {"subjects[].species", "subjects[].count", "people_present"}
    assert card.field("people_present").score == 0.0 and card.field("subjects[].count").score == 1.0
