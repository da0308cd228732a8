"""gaia.format: one rounding rule per kind of number, used by the pages, the CLI and GAIA's sentences."""

from __future__ import annotations

import pytest

from gaia import format as fmt


@pytest.mark.parametrize(("x", "text"), [
    (None, "–"), (0, "$0.00"), (0.0463, "$0.0463"), (0.12345, "$0.123"), (0.004631, "$0.00463"),
    (0.999, "$1.00"), (5.52, "$5.52"), (11.845, "$11.85"), (1234.4, "$1,234"), (-2.03, "$-2.03"),
])
def test_usd(x, text):
    assert fmt.usd(x) == text


@pytest.mark.parametrize(("s", "text"), [
    (0, "0 s"), (45.4, "45 s"), (89, "89 s"), (600, "10 min"), (3 * 3600 + 5 * 60, "3 h 05 min"),
    (24 * 3600, "24 h 00 min"), (3 * 86400 + 4 * 3600, "3 d 4 h"), (None, "–"),
])
def test_duration(s, text):
    assert fmt.duration(s) == text


@pytest.mark.parametrize(("s", "text"), [
    (0, "0:00.0"), (2.33, "0:02.3"), (3.5, "0:03.5"), (3.99, "0:03.9"), (59.96, "0:59.9"),
    (727.0, "12:07.0"), (3723.4, "1:02:03.4"),
])
def test_position_never_rounds_up_a_second(s, text):
    assert fmt.position(s) == text


def test_length_size_pct_tokens():
    assert fmt.length(75.2) == "1:15" and fmt.length(3723) == "1:02:03"
    assert fmt.size(512) == "512 B" and fmt.size(3_900_000) == "3.9 MB" and fmt.size(2.5e12) == "2.5 TB"
    assert fmt.pct(0.83) == "83%" and fmt.pct(0.004) == "0.4%" and fmt.pct(0) == "0%"
    assert fmt.tokens(1_500_944) == "1,500,944" and fmt.tokens(None) == "–"
