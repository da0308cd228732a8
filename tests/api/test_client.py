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


def test_the_sdk_pyav_and_jsonschema_load_only_when_first_used():
    """A server that only shows pages never loads the SDK (some 55 MB), PyAV (17 MB) or jsonschema: ``import gaia``
    leaves them out, and the client ``make_client`` returns imports the SDK when first asked for something."""
    import subprocess
    import sys

    code = ("import sys, gaia\n"
            "heavy = ('anthropic', 'av', 'jsonschema')\n"
            "assert not [m for m in heavy if m in sys.modules], [m for m in heavy if m in sys.modules]\n"
            "c = gaia.make_client(api_key='k', base_url='http://127.0.0.1:9')\n"
            "assert 'anthropic' not in sys.modules and 'not built' in repr(c)\n"
            "assert str(c.base_url).startswith('http://127.0.0.1:9') and 'anthropic' in sys.modules\n"
            "assert type(c.real()).__name__ == 'Anthropic'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
