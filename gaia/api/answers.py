"""Answers: turning a Message (an SDK object or its dict) back into the analysis, or a plain-language problem.

``answer_text`` finds the text block (thinking blocks may come first), ``AnswerChecker`` validates
an analysis against the output schema (a compiled subset of JSON Schema, fast enough for 10,000
answers), and ``parse_answer`` does both, naming what is wrong when the answer is unusable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from gaia.api.client import field

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def answer_text(message: Any) -> str | None:
    """The text of the answer's text block(s), chosen by type (thinking blocks may come first)."""
    parts = [field(b, "text") or "" for b in (field(message, "content") or []) if field(b, "type") == "text"]
    return "".join(parts) if parts else None


_ANNOTATIONS = frozenset({"description", "title", "default", "examples", "$comment", "deprecated", "readOnly",
                          "writeOnly"})
_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "string": lambda x: isinstance(x, str),
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
    "number": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool),
    "integer": lambda x: not isinstance(x, bool) and (isinstance(x, int) or (isinstance(x, float) and x.is_integer())),
}


def _compile(node: Any) -> Callable[[Any], bool] | None:
    """A fast validity check for the plain subset of JSON Schema answers use, or ``None`` if the node
    uses anything else (then the full ``jsonschema`` validator decides)."""
    if node is True or node == {}:
        return lambda x: True
    if not isinstance(node, dict):
        return None
    known = _ANNOTATIONS | {"type", "properties", "required", "additionalProperties", "items", "enum"}
    if set(node) - known:
        return None
    checks: list[Callable[[Any], bool]] = []
    kind = node.get("type")
    if kind is not None:
        kinds = [kind] if isinstance(kind, str) else kind
        if not isinstance(kinds, list) or any(k not in _TYPE_CHECKS for k in kinds):
            return None
        fns = [_TYPE_CHECKS[k] for k in kinds]

        def of_type(x: Any, fns: list[Callable[[Any], bool]] = fns) -> bool:
            return any(f(x) for f in fns)

        checks.append(of_type)
    if "enum" in node:
        values = node["enum"]
        if not isinstance(values, list) or any(isinstance(v, (dict, list, float)) for v in values):
            return None

        def in_enum(x: Any, values: list[Any] = values) -> bool:
            return any(type(x) is type(v) and x == v for v in values)

        checks.append(in_enum)
    props: dict[str, Callable[[Any], bool]] = {}
    for name, sub in (node.get("properties") or {}).items():
        fn = _compile(sub)
        if fn is None:
            return None
        props[name] = fn
    required = list(node.get("required") or [])
    extra = node.get("additionalProperties", True)
    if extra not in (True, False):
        return None
    if props or required or extra is False:
        def obj(x: Any, props: dict[str, Callable[[Any], bool]] = props, required: list[str] = required,
                closed: bool = extra is False) -> bool:
            if not isinstance(x, dict):
                return True  # properties/required only constrain objects
            if any(r not in x for r in required):
                return False
            for key, value in x.items():
                fn = props.get(key)
                if fn is None:
                    if closed:
                        return False
                elif not fn(value):
                    return False
            return True

        checks.append(obj)
    if "items" in node:
        item = _compile(node["items"])
        if item is None:
            return None
        def items(x: Any, item: Callable[[Any], bool] = item) -> bool:
            return not isinstance(x, list) or all(item(v) for v in x)

        checks.append(items)
    return lambda x: all(c(x) for c in checks)


class AnswerChecker:
    """Validates answers against one schema: a compiled fast check for the plain subset of JSON
    Schema that structured outputs use, the full ``jsonschema`` validator for anything else and for
    the plain-language message when an answer is invalid. Build once, use for many answers."""

    def __init__(self, schema: dict[str, Any]) -> None:
        import jsonschema

        self.schema = schema
        self.validator = jsonschema.Draft202012Validator(schema)
        self.fast = _compile(schema)

    def problem(self, data: Any) -> str | None:
        """``None`` when ``data`` is valid, else where and why it is not."""
        import jsonschema

        if self.fast is not None and self.fast(data):
            return None
        error = jsonschema.exceptions.best_match(self.validator.iter_errors(data))
        if error is None:
            return None
        where = "/".join(str(p) for p in error.absolute_path) or "the top level"
        return f"The answer does not match the output schema at {where}: {error.message}"


def parse_answer(
    message: Any, schema: dict[str, Any], *, validator: Any | None = None
) -> tuple[dict[str, Any] | None, str | None]:
    """The analysis in ``message`` validated against ``schema``, or ``(None, problem)`` in plain words.

    ``message`` is an SDK ``Message`` or its dict. A refusal or an answer cut off at ``max_tokens``
    is a failure (to retry), as is text that is not JSON or does not match the schema. Pass a
    prebuilt ``AnswerChecker`` (or ``jsonschema`` validator) for ``schema`` when parsing many answers.
    """
    stop = field(message, "stop_reason")
    if stop == "refusal":
        return None, "The model declined to analyse this video (stop_reason: refusal)."
    if stop == "max_tokens":
        usage = field(message, "usage")
        out = field(usage, "output_tokens") if usage is not None else None
        n = f" after {out} tokens" if out else ""
        return None, f"The answer was cut off at the max_tokens limit{n}; retry (with a higher limit if it recurs)."
    text = answer_text(message)
    if text is None:
        return None, "The answer holds no text block."
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"The answer is not valid JSON ({exc.msg} at character {exc.pos})."
    if not isinstance(data, dict):
        return None, "The answer is JSON but not an object."
    if isinstance(validator, AnswerChecker):
        problem = validator.problem(data)
    else:
        import jsonschema

        checker = validator or jsonschema.Draft202012Validator(schema)
        error = jsonschema.exceptions.best_match(checker.iter_errors(data))
        problem = None
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "the top level"
            problem = f"The answer does not match the output schema at {where}: {error.message}"
    return (None, problem) if problem else (data, None)
