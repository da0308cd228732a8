"""The review queue's table rows and the form's widget values, turned back into verified fields."""

from __future__ import annotations

from gaia.views import review as V


def form() -> V.ReviewForm:
    fields = (
        V.FieldView("setting.environment", "enum", ("indoor", "outdoor", "unknown"), "unknown", "unknown", False),
        V.FieldView("people_present", "boolean", (), False, False, False),
        V.FieldView("subjects", "json", (), [{"species": "cat", "count": 1}], [{"species": "cat", "count": 1}], False),
        V.FieldView("count", "integer", (), None, None, False),
        V.FieldView("summary", "text", (), None, None, False),
    )
    return V.ReviewForm("a.mp4", fields, None, None)


def test_widget_start_values():
    f = {x.name: x for x in form().fields}
    assert V.form_input(f["subjects"]).startswith("[\n  {\n    \"species\": \"cat\"")
    assert V.form_input(f["summary"]) == "" and V.form_input(f["count"]) is None
    assert V.form_input(f["people_present"]) is False


def test_widget_values_back_to_fields():
    raw = {"setting.environment": "outdoor", "people_present": True, "subjects": '[{"species": "fox", "count": 2}]',
           "count": 3.0, "summary": ""}
    values, problems = V.form_values(form(), raw)
    assert problems == []
    assert values == {"setting.environment": "outdoor", "people_present": True,
                      "subjects": [{"species": "fox", "count": 2}], "count": 3}
    assert isinstance(values["count"], int)
    assert "summary" not in values  # left empty where there was nothing: nothing to verify


def test_bad_json_is_named_and_the_rest_kept():
    values, problems = V.form_values(form(), {"subjects": "[{species: fox}", "people_present": False})
    assert len(problems) == 1 and problems[0].startswith("subjects: the text is not complete JSON")
    assert "Expecting" not in problems[0]  # a sentence, not the parser's message
    assert values == {"people_present": False}
    only, _ = V.form_values(form(), {"people_present": True, "setting.environment": "indoor"},
                            names=["people_present"])
    assert only == {"people_present": True}


def test_queue_rows_keep_the_order_and_name_the_reasons():
    items = [V.ReviewItem("b.mp4", 5.0, (V.Reason(V.ReasonKind.LOW_CONFIDENCE, "The model's confidence is low."),
                                         V.Reason(V.ReasonKind.UNKNOWN, "tags was answered \"unknown\".", "tags"))),
             V.ReviewItem("a.mp4", 1.0, (V.Reason(V.ReasonKind.RETRIED, "1 attempt failed before this answer."),),
                          verified_fields=("tags",))]
    rows = V.queue_records(items)
    assert [r["video"] for r in rows] == ["b.mp4", "a.mp4"] and [r["#"] for r in rows] == [1, 2]
    assert rows[0]["why"] == "low confidence; unknown"
    assert "confidence is low" in rows[0]["details"]
    assert rows[1]["verified"] == "tags"
