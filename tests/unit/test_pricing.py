"""Pricing: dated catalogue prices, overrides from a date, cached and batch rates, tiers, unknown
models, and the vectorised SQL repricing agreeing with genai-prices' own per-call calculation."""
from __future__ import annotations

import random
from datetime import UTC, date, datetime, time

import pytest
from genai_prices import Usage, calc_price

from pmflow.costs.pricing import (
    NO_TOKEN_PRICE,
    OVERRIDE,
    PRICED,
    UNKNOWN_MODEL,
    PriceBook,
    PriceConfigError,
    load_overrides,
    parse_override,
)
from pmflow.costs.reprice import reprice, unpriced_models
from pmflow.costs.usage import InvalidUsage, pipeline_usage_row
from warehouse import Warehouse
from warehouse.warehouse import merge

WS = "T-PRICE"


def usage_row(usage_id, model, day, input_tokens, output_tokens=0, cached=0, *, provider="openai",
              source="pipeline", batch=False, workspace=WS):
    return {
        "workspace_id": workspace, "usage_id": usage_id, "occurred_at": datetime.combine(day, time(10), tzinfo=UTC),
        "source": source, "provider": provider, "model": model, "input_tokens": input_tokens,
        "output_tokens": output_tokens, "cached_tokens": cached, "requests": 1, "batch": batch,
    }


@pytest.fixture
def wh(tmp_path):
    return Warehouse(tmp_path / "w.duckdb")


def load(wh, rows):
    with wh.connect() as con:
        merge(con, "core.llm_usage", rows)


def priced(wh, book):
    with wh.connect() as con:
        stats = reprice(con, book)
        rows = con.execute("SELECT usage_id, cost_usd, price_status FROM core.llm_usage ORDER BY usage_id").fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}, stats


def test_catalogue_price_takes_effect_on_its_start_date():
    # genai-prices records o3's cut from $10 to $2 per million input tokens on 2025-06-10.
    book = PriceBook()
    before = book.rate(WS, "openai", "o3", date(2025, 6, 9))
    after = book.rate(WS, "openai", "o3", date(2025, 6, 10))
    assert (before.input_per_mtok, before.output_per_mtok) == (10.0, 40.0)
    assert (after.input_per_mtok, after.output_per_mtok) == (2.0, 8.0)
    assert before.status == after.status == PRICED


def test_override_changes_the_price_mid_month_from_its_effective_date(wh, tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text(
        "overrides:\n"
        "  - model: gpt-4.1\n"
        "    effective_from: 2026-11-15\n"
        "    input_per_mtok: 1.0\n"
        "    cached_input_per_mtok: 0.25\n"
        "    output_per_mtok: 4.0\n"
    )
    book = PriceBook(load_overrides(path))
    load(wh, [
        usage_row("a", "gpt-4.1", date(2026, 11, 14), 1_000_000, 1_000_000),
        usage_row("b", "gpt-4.1", date(2026, 11, 15), 1_000_000, 1_000_000),
        usage_row("c", "gpt-4.1", date(2026, 11, 30), 1_000_000, 1_000_000, cached=400_000),
    ])
    costs, _ = priced(wh, book)
    assert costs["a"] == (pytest.approx(2.0 + 8.0), PRICED)  # catalogue: $2 in, $8 out
    assert costs["b"] == (pytest.approx(1.0 + 4.0), OVERRIDE)
    assert costs["c"] == (pytest.approx(0.6 * 1.0 + 0.4 * 0.25 + 4.0), OVERRIDE)
    sources = dict(wh.query("SELECT usage_day, rate_source FROM core.llm_price_rates ORDER BY usage_day"))
    assert "genai-prices" in sources[date(2026, 11, 14)]
    assert sources[date(2026, 11, 15)].startswith("override gpt-4.1 from 2026-11-15")


def test_cached_tokens_are_billed_at_the_cached_input_rate(wh):
    load(wh, [usage_row("c", "gpt-4o", date(2026, 11, 1), 1_000_000, 0, cached=500_000)])
    costs, _ = priced(wh, PriceBook())
    # 500k uncached x $2.50 + 500k cached x $1.25 per million
    assert costs["c"][0] == pytest.approx(1.875)
    expected = calc_price(Usage(input_tokens=1_000_000, cache_read_tokens=500_000), "gpt-4o", provider_id="openai",
                          genai_request_timestamp=datetime(2026, 11, 1, 12, tzinfo=UTC)).total_price
    assert costs["c"][0] == pytest.approx(float(expected))


def test_batch_calls_use_the_catalogue_batch_price_or_half_the_standard_rate():
    book = PriceBook()
    # The catalogue has a batch price for gpt-4o from 2026-10-14 ...
    with_variant = book.rate(WS, "openai", "gpt-4o", date(2026, 11, 1), True)
    assert (with_variant.input_per_mtok, with_variant.output_per_mtok) == (1.25, 5.0)
    assert "catalogue batch price" in with_variant.source
    # ... and none before: OpenAI's documented 50% batch discount applies.
    without = book.rate(WS, "openai", "gpt-4o", date(2026, 9, 1), True)
    assert (without.input_per_mtok, without.cached_input_per_mtok, without.output_per_mtok) == (1.25, 0.625, 5.0)
    assert "50% off" in without.source
    negotiated = PriceBook([parse_override({"model": "gpt-4o", "effective_from": "2026-01-01", "input_per_mtok": 2,
                                            "output_per_mtok": 8, "batch_discount": 0.25})])
    assert negotiated.rate(WS, "openai", "gpt-4o", date(2026, 11, 1), True).input_per_mtok == 1.5


def test_unknown_model_is_flagged_with_a_null_cost_never_zero(wh):
    load(wh, [
        usage_row("known", "gpt-4o-mini", date(2026, 11, 1), 1000, 10),
        usage_row("mystery", "acme-coder-7b", date(2026, 11, 1), 5000, 50, provider="vllm", source="agent_trace"),
        usage_row("no-model", None, date(2026, 11, 1), 5000, 50),
    ])
    costs, _ = priced(wh, PriceBook())
    assert costs["mystery"] == (None, UNKNOWN_MODEL)
    assert costs["no-model"] == (None, UNKNOWN_MODEL)
    assert costs["known"][0] > 0
    with wh.connect() as con:
        listed = unpriced_models(con)
    assert {(r["provider"], r["model"], r["rows"]) for r in listed} == {("vllm", "acme-coder-7b", 1), ("openai", "(none)", 1)}


def test_a_model_priced_per_audio_hour_has_no_token_price():
    rate = PriceBook().rate(WS, "openai", "whisper-1", date(2026, 11, 1))
    assert rate.status == NO_TOKEN_PRICE and rate.cost(100, 0, 0) is None


def test_long_context_tier_applies_to_a_single_call_not_to_an_aggregated_bucket(wh):
    day = date(2026, 11, 1)
    load(wh, [
        usage_row("small", "claude-sonnet-4-5", day, 100_000, 1_000, provider="anthropic", source="agent_trace"),
        usage_row("large", "claude-sonnet-4-5", day, 250_000, 1_000, provider="anthropic", source="agent_trace"),
        usage_row("bucket", "claude-sonnet-4-5", day, 250_000, 1_000, provider="anthropic", source="openai_usage"),
    ])
    costs, _ = priced(wh, PriceBook())
    when = datetime(2026, 11, 1, 12, tzinfo=UTC)
    for key, tokens in (("small", 100_000), ("large", 250_000)):
        expected = calc_price(Usage(input_tokens=tokens, output_tokens=1_000), "claude-sonnet-4-5",
                              provider_id="anthropic", genai_request_timestamp=when).total_price
        assert costs[key][0] == pytest.approx(float(expected))
    assert costs["bucket"][0] == pytest.approx((250_000 * 3.0 + 1_000 * 15.0) / 1e6)  # base rates


def test_vectorised_repricing_equals_genai_prices_per_call(wh):
    rng = random.Random(5)
    models = [("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("openai", "gpt-4.1"), ("openai", "o3"),
              ("openai", "gpt-5-mini"), ("openai", "text-embedding-3-small"), ("anthropic", "claude-haiku-4-5"),
              ("google", "gemini-2.5-flash")]
    rows, expected = [], {}
    for i in range(300):
        provider, model = rng.choice(models)
        day = date(2025, rng.randint(1, 12), rng.randint(1, 28))
        inp = rng.randint(0, 150_000)
        cached = rng.randint(0, inp) if rng.random() < 0.5 else 0
        out = rng.randint(0, 5_000)
        rows.append(usage_row(f"r{i}", model, day, inp, out, cached, provider=provider, source="agent_trace"))
        usage = Usage(input_tokens=inp, cache_read_tokens=cached, output_tokens=out)
        expected[f"r{i}"] = float(calc_price(usage, model, provider_id=provider,
                                             genai_request_timestamp=datetime.combine(day, time(12), tzinfo=UTC)).total_price)
    load(wh, rows)
    costs, stats = priced(wh, PriceBook())
    assert stats["combinations"] < len(rows)
    for key, value in expected.items():
        assert costs[key][0] == pytest.approx(value, rel=1e-9, abs=1e-12), key


def test_repricing_twice_changes_nothing_and_a_new_override_reprices_old_rows(wh):
    load(wh, [usage_row("x", "gpt-4o-mini", date(2026, 11, 3), 2_000_000, 0)])
    first, stats = priced(wh, PriceBook())
    assert stats["rows_repriced"] == 1
    again, stats = priced(wh, PriceBook())
    assert stats["rows_repriced"] == 0 and again == first
    book = PriceBook([parse_override({"model": "gpt-4o-*", "effective_from": "2026-11-01", "input_per_mtok": 0.1})])
    later, stats = priced(wh, book)
    assert stats["rows_repriced"] == 1 and later["x"] == (pytest.approx(0.2), OVERRIDE)


def test_workspace_specific_override_beats_a_global_one_and_stays_in_its_workspace():
    book = PriceBook([
        parse_override({"model": "gpt-4o", "effective_from": "2026-01-01", "input_per_mtok": 2.0}),
        parse_override({"model": "gpt-4o", "effective_from": "2026-01-01", "input_per_mtok": 1.0, "workspace_id": "T1"}),
    ])
    assert book.rate("T1", "openai", "gpt-4o", date(2026, 5, 1)).input_per_mtok == 1.0
    assert book.rate("T2", "openai", "gpt-4o", date(2026, 5, 1)).input_per_mtok == 2.0
    assert book.rate("T2", "openai", "gpt-4o", date(2025, 5, 1)).status == PRICED  # before the override


@pytest.mark.parametrize("entry, message", [
    ({"effective_from": "2026-01-01", "input_per_mtok": 1}, "'model' is required"),
    ({"model": "m", "effective_from": "2026-13-01", "input_per_mtok": 1}, "must be a date"),
    ({"model": "m", "effective_from": "2026-01-01", "input_per_mtok": -1}, "must not be negative"),
    ({"model": "m", "effective_from": "2026-01-01", "input_per_mtok": 1, "colour": "red"}, "unknown fields"),
])
def test_a_malformed_override_names_the_problem(entry, message):
    with pytest.raises(PriceConfigError, match=message):
        parse_override(entry)


def test_pipeline_usage_row_prices_an_openai_response_and_rejects_absurd_counts():
    response = {"id": "chatcmpl-1", "model": "gpt-4o-mini", "created": 1_794_000_000,
                "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "prompt_tokens_details": {"cached_tokens": 200}}}
    row = pipeline_usage_row("T1", response, None, "run-1", ticket_id="ENG-1", agent="matcher", price_book=PriceBook())
    assert row["usage_id"] == "pipeline:chatcmpl-1" and row["source"] == "pipeline"
    assert (row["input_tokens"], row["cached_tokens"], row["output_tokens"]) == (1000, 200, 100)
    assert row["cost_usd"] == pytest.approx((800 * 0.15 + 200 * 0.075 + 100 * 0.6) / 1e6)
    with pytest.raises(InvalidUsage, match="negative"):
        pipeline_usage_row("T1", {"prompt_tokens": -5, "completion_tokens": 1}, "gpt-4o-mini", "run-1",
                           price_book=PriceBook())
    with pytest.raises(InvalidUsage, match="absurd"):
        pipeline_usage_row("T1", {"input_tokens": 10**12, "output_tokens": 1}, "gpt-4o-mini", "run-1",
                           price_book=PriceBook())
