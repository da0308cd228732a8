"""Price data: every row has a source and as-of date, model-specific rules, and the user's override file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gaia import facts
from gaia.facts import (
    DEFAULT_MODEL,
    ImageTier,
    ModelFacts,
    PriceFileError,
    catalogue,
    estimate_defaults,
    fit_to_tier,
    image_tokens,
    load_catalogue,
    model_facts,
    model_name,
    reload_catalogue,
)
from gaia.pricing.bill import bill
from gaia.pricing.models import usage_cost


@pytest.fixture
def fresh_catalogue(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Re-read the price data before and after the test, the override variable gone afterwards."""
    reload_catalogue()
    yield
    monkeypatch.delenv(facts.OVERRIDE_ENV, raising=False)
    reload_catalogue()
    assert catalogue().override_file is None


def test_every_row_has_source_as_of_and_sane_prices() -> None:
    cat = load_catalogue()
    assert DEFAULT_MODEL in cat.models
    for m in cat.models.values():
        assert isinstance(m, ModelFacts)
        assert m.source.startswith("https://platform.claude.com/docs/"), m.id
        assert len(m.as_of) == 10, m.id
        assert 0 < m.input < m.output
        assert m.cache_write_5m_multiplier == 1.25 and m.cache_write_1h_multiplier == 2.0
        assert m.batch_discount == 0.5
        assert m.min_cacheable_tokens in (512, 1024, 2048, 4096)
        assert isinstance(m.image_tier, ImageTier) and m.image_tier.max_edge in (1568, 2576)
    assert cat.as_of == max(m.as_of for m in cat.models.values())


def test_model_specific_rules() -> None:
    assert model_facts("claude-opus-5-5").cache_read_price == pytest.approx(0.20)  # 0.05x
    assert model_facts("claude-fable-5-1").cache_read_price == pytest.approx(0.25)  # 0.025x
    assert model_facts("claude-sonnet-4-5").cache_read_price == pytest.approx(0.30)  # 0.1x
    assert model_facts("claude-haiku-4-5").min_cacheable_tokens == 4096
    assert model_facts("claude-sonnet-4-5").min_cacheable_tokens == 1024
    assert model_facts("claude-opus-5-5").min_cacheable_tokens == 512
    h = model_facts("claude-haiku-5-5")
    assert (h.long_context_threshold, h.long_context_input, h.long_context_output) == (100_000, 0.5, 2.5)
    assert model_facts("claude-sonnet-4-5").image_tier.max_edge == 1568
    assert model_facts("claude-sonnet-5-5").image_tier.max_edge == 2576


def test_uncertain_figures_are_flagged() -> None:
    assert not model_facts("claude-fable-5-2").confirmed
    assert model_facts("claude-fable-5-2").uncertain
    assert "minimum cacheable prefix" in model_facts("claude-haiku-5-5").uncertain
    assert "cache read price" in model_facts("claude-sonnet-5-5").uncertain
    assert model_facts("claude-sonnet-4-5").uncertain == []


def test_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="claude-sonnet-4-5"):
        model_facts("claude-nope-1")


def test_a_model_is_named_as_the_catalogue_names_it_everywhere() -> None:
    """One home for a model's display name: the views and the guard's messages say what the catalogue says."""
    import gaia
    from gaia.quality.ladder import TuneConfig

    shown = model_facts("claude-haiku-4-5").display_name
    assert model_name("claude-haiku-4-5") == gaia.views.model_name("claude-haiku-4-5") == shown != "claude-haiku-4-5"
    assert model_name("claude-nope-1") == "claude-nope-1" and model_name(None) == model_name("") == ""
    assert TuneConfig("claude-haiku-4-5", 4, 512).label().startswith(f"{shown}, ")


def test_public_names_still_work() -> None:
    assert image_tokens(1000, 1000) == 1296
    tier = model_facts("claude-sonnet-4-5").image_tier
    assert fit_to_tier(3000, 2000, tier)[0] <= 1568
    for name in ("BATCH_MAX_REQUESTS", "BATCH_MAX_BYTES", "CUSTOM_ID_PATTERN", "IMAGE_MAX_DIMENSION",
                 "MESSAGES_MAX_BYTES", "IMAGE_PATCH_PX", "CACHE_TTLS"):
        assert hasattr(facts, name)
    assert catalogue() is catalogue()
    assert estimate_defaults().batch_cache_read_share == pytest.approx(0.80)  # GAIA's production run


OVERRIDE = """
[models.claude-sonnet-4-5]
input = 4.0
as_of = "2026-12-01"

[models.claude-local-1]
display_name = "Local test model"
input = 1.5
output = 7.5
min_cacheable_tokens = 2048
image_tier = "standard"
as_of = "2026-12-01"
confirmed = false

[estimates]
output_tokens_per_video = 900
"""


def test_override_file_changes_a_price_and_adds_a_model(tmp_path: Path) -> None:
    path = tmp_path / "gaia-prices.toml"
    path.write_text(OVERRIDE)
    cat = load_catalogue(path)
    son = cat.models["claude-sonnet-4-5"]
    assert son.input == 4.0 and son.output == 15.0 and son.overridden and son.as_of == "2026-12-01"
    new = cat.models["claude-local-1"]
    assert new.cache_write_1h_multiplier == 2.0 and not new.confirmed and new.overridden
    assert cat.override_file == path
    assert cat.estimates["output_tokens_per_video"] == 900


def test_override_through_environment_reaches_the_bill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        fresh_catalogue: None) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(OVERRIDE)
    before = bill({"input": 1_000_000}, "claude-sonnet-4-5").scenario("standard").total_usd
    monkeypatch.setenv("GAIA_PRICES_FILE", str(path))
    reload_catalogue()
    after = bill({"input": 1_000_000}, "claude-sonnet-4-5")
    assert (before, after.scenario("standard").total_usd) == (pytest.approx(3.0), pytest.approx(4.0))
    assert after.prices_as_of == "2026-12-01"
    assert usage_cost({"output_tokens": 1_000_000}, "claude-local-1", batch=True).total_usd == pytest.approx(3.75)
    assert estimate_defaults().output_tokens == 900


def test_bad_override_file_is_a_plain_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[models.x\n")
    with pytest.raises(ValueError, match="cannot read price override file"):
        load_catalogue(bad)
    incomplete = tmp_path / "inc.toml"
    incomplete.write_text("[models.claude-new]\ninput = 1.0\n")
    with pytest.raises(PriceFileError, match="new model and must give output, min_cacheable_tokens, image_tier"):
        load_catalogue(incomplete)


BAD_OVERRIDES = {
    "invalid TOML": ("[models.x\n", "cannot read price override file"),
    "a string price": ('[models.claude-sonnet-4-5]\ninput = "three"\n', "input must be a number"),
    "a new model without output": ("[models.claude-new]\ninput = 1.0\nmin_cacheable_tokens = 1024\n"
                                   'image_tier = "standard"\n', "must give output"),
    "a huge price": ("[models.claude-sonnet-4-5]\noutput = 1e308\n", "output must be between 0.001 and 10000"),
    "nan": ("[models.claude-sonnet-4-5]\noutput = nan\n", "output must be between"),
    "a negative price": ("[models.claude-sonnet-4-5]\ninput = -3.0\n", "input must be between"),
    "a batch discount above 1": ("[models.claude-sonnet-4-5]\nbatch_discount = 5\n", "batch_discount must be between"),
    "a default discount above 1": ("[defaults]\nbatch_discount = 5\n", "defaults.batch_discount must be between"),
    "models = 5": ("models = 5\n", "must be a table of models"),
    "a model that is not a table": ("[models]\nclaude-sonnet-4-5 = 3\n", "must be a table of keys"),
    "an unknown image tier": ('[models.claude-sonnet-4-5]\nimage_tier = "huge"\n', "image_tier must be one of"),
    # issue 22, item 7: zero, negative and nonsensical values, each refused with the file, the key and the reason
    "a zero input price": ("[models.claude-sonnet-4-5]\ninput = 0\n", "input must be between 0.001"),
    "a zero output price": ("[models.claude-sonnet-4-5]\noutput = 0.0\n", "output must be between 0.001"),
    "long-context prices of 0": ("[models.claude-sonnet-4-5]\nlong_context_input = 0\nlong_context_output = 0\n"
                                 "long_context_threshold = 200000\n", "long_context_input must be between 0.001"),
    "a threshold of -1": ("[models.claude-sonnet-4-5]\nlong_context_threshold = -1\n",
                          "long_context_threshold must be between 1000"),
    "a long-context price below the price": ("[models.claude-sonnet-4-5]\ninput = 3.0\nlong_context_input = 1.0\n"
                                             "long_context_threshold = 200000\n", "is below its input price"),
    "a negative text_token_factor": ("[models.claude-sonnet-4-5]\ntext_token_factor = -1.3\n",
                                     "text_token_factor must be between 0.1"),
    "a zero cache read multiplier": ("[models.claude-sonnet-4-5]\ncache_read_multiplier = 0\n",
                                     "cache_read_multiplier must be between 0.01"),
    "a negative estimate": ("[estimates]\noutput_tokens_per_video = -2000\n",
                            "estimates.output_tokens_per_video must be between 1"),
    "a negative cache share": ("[estimates]\nbatch_cache_read_share = -0.5\n", "batch_cache_read_share must be"),
    "estimates = 3": ("estimates = 3\n", r"\[estimates\] must be a table"),
    "thinking_models = 3": ("[estimates]\nthinking_models = 3\n", "thinking_models must be a list"),
    "max_tokens = 0 in an image tier": ("[image_tiers.standard]\nmax_tokens = 0\n",
                                        "image_tiers.'standard'.max_tokens must be between 1"),
    "a string max_edge": ('[image_tiers.standard]\nmax_edge = "big"\n', "max_edge must be a whole number"),
    "image_tiers = 5": ("image_tiers = 5\n", r"\[image_tiers\] must be a table"),
    "a new tier without max_tokens": ('[image_tiers.tiny]\nmax_edge = 100\n[models.claude-sonnet-4-5]\n'
                                      'image_tier = "tiny"\n', "new tier and must give max_tokens"),
    "an image tier that is a list": ('[models.claude-sonnet-4-5]\nimage_tier = ["standard"]\n',
                                     "image_tier must be one of"),
    "a fractional context window": ("[models.claude-sonnet-4-5]\ncontext_window = 1.5\n",
                                    "context_window must be a whole number"),
}


@pytest.mark.parametrize("case", sorted(BAD_OVERRIDES))
def test_every_malformed_override_file_is_refused_with_the_reason(tmp_path: Path, case: str) -> None:
    text, message = BAD_OVERRIDES[case]
    path = tmp_path / "prices.toml"
    path.write_text(text)
    with pytest.raises(PriceFileError, match=message) as info:
        load_catalogue(path)
    assert str(path) in str(info.value)


def test_a_missing_file_or_a_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(PriceFileError, match="does not exist"):
        load_catalogue(tmp_path / "nope.toml")
    with pytest.raises(PriceFileError, match="is a folder"):
        load_catalogue(tmp_path)


@pytest.mark.parametrize("case", ["a batch discount above 1", "nan", "invalid TOML"])
def test_the_cli_says_what_is_wrong_with_the_price_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        fresh_catalogue: None, capsys: pytest.CaptureFixture[str],
                                                        case: str) -> None:
    from gaia._cli import main

    path = tmp_path / "prices.toml"
    path.write_text(BAD_OVERRIDES[case][0])
    monkeypatch.setenv("GAIA_PRICES_FILE", str(path))
    facts._default_catalogue.cache_clear()  # as in a new process: the file is read on first use
    assert main(["estimate", str(tmp_path), "--model", "claude-sonnet-4-5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gaia estimate: ") and BAD_OVERRIDES[case][1].split(" must")[0] in err
    assert "Traceback" not in err


def test_a_retired_model_is_priced_for_history_but_not_offered() -> None:
    from datetime import date

    from gaia.facts import RETIRED, offered_models

    son = model_facts("claude-sonnet-4-5")
    # One dated source: the SDK's deprecated-models list puts the retirement on 2026-11-30.
    assert son.retires_on == "2026-11-30" and "deprecated_models.py" in son.retirement_source
    assert son.retired_as_of(date(2026, 11, 30)) and not son.retired_as_of(date(2026, 11, 29))
    assert son.retired and son.retired_on == "2026-11-30" and son.status == RETIRED
    # Still priced: the production bill (issue 3) stays computable.
    assert son.input == 3.0 and son.output == 15.0
    offered = {m.id for m in offered_models()}
    assert "claude-sonnet-4-5" not in offered and DEFAULT_MODEL in offered
    # Opus 4.5 is deprecated (retires 2027-01-22) but still offered until then.
    opus = model_facts("claude-opus-4-5")
    assert opus.retires_on == "2027-01-22" and opus.retired_as_of(date(2027, 1, 22))
    assert not opus.retired_as_of(date(2026, 12, 1))
    assert all(not m.retired for m in offered_models())


def test_retirement_follows_the_date_not_the_status_field(tmp_path: Path, fresh_catalogue: None) -> None:
    override = tmp_path / "prices.toml"
    override.write_text('[models.claude-haiku-4-5]\nretires_on = "2000-01-01"\n')
    cat = load_catalogue(override)
    assert cat.models["claude-haiku-4-5"].status == "retired"
    assert cat.models["claude-haiku-4-5"].retired_on == "2000-01-01"


def test_a_retired_model_cannot_be_chosen_for_a_new_run() -> None:
    from gaia.facts import not_offered_reason

    assert not_offered_reason(DEFAULT_MODEL) is None
    why = not_offered_reason("claude-sonnet-4-5")
    assert why is not None and "retired on 2026-11-30" in why
    unknown = not_offered_reason("claude-nonesuch")
    assert unknown is not None and "claude-sonnet-4-5" not in unknown and DEFAULT_MODEL in unknown


@pytest.mark.parametrize("case", sorted(BAD_OVERRIDES))
def test_every_malformed_override_file_is_one_sentence_in_the_cli(tmp_path: Path, case: str, monkeypatch,
                                                                   capsys) -> None:
    """No traceback, no hang (``max_tokens = 0`` in an image tier used to loop forever)."""
    from gaia._cli import main
    from gaia.facts import _default_catalogue

    path = tmp_path / "prices.toml"
    path.write_text(BAD_OVERRIDES[case][0])
    monkeypatch.setenv("GAIA_PRICES_FILE", str(path))
    _default_catalogue.cache_clear()
    monkeypatch.setattr("gaia.facts._default_catalogue", _default_catalogue)
    (tmp_path / "v").mkdir()
    code = main(["estimate", str(tmp_path / "v")])
    err = capsys.readouterr().err
    assert code == 2 and str(path) in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    _default_catalogue.cache_clear()
