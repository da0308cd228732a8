"""``make_client``: a pasted key's trailing newline is stripped, a key no key could be is refused plainly
(issue 14: it was reported as "could not reach the API" after six retries)."""

from __future__ import annotations

import pytest

from gaia.api.client import MissingApiKey, make_client


def test_a_trailing_newline_is_stripped(emulator, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key\n")
    client = make_client(base_url=emulator.base_url, max_retries=0)
    assert client.api_key == "test-key"
    assert client.models.list()  # the call goes through


@pytest.mark.parametrize("key", ["sk ant", "sk\nant", "sk\x00ant"])
def test_a_key_with_spaces_or_control_characters_is_refused_without_echoing_it(key):
    with pytest.raises(MissingApiKey) as err:
        make_client(key)
    assert "characters" in str(err.value) and "ant" not in str(err.value)


def test_only_whitespace_is_no_key(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", " \n")
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    with pytest.raises(MissingApiKey, match="No Anthropic API key"):
        make_client()
