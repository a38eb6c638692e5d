"""Prices per (provider, model, day, batch) from a dated catalogue, plus negotiated overrides.

The catalogue is `genai-prices` (Pydantic's maintained price list, pinned in uv.lock; its bundled
snapshot is used, never fetched at run time). A price is chosen by the call's UTC date, so a price
change takes effect on its start date and old calls keep their old price. Batch calls use the
catalogue's batch price when it has one for that date, else `batch_discount` (default 50%, what
OpenAI and Anthropic bill for the Batch API).

Overrides (negotiated prices) come from a YAML file (PMFLOW_PRICE_OVERRIDES, default
config/prices.yaml), USD per million tokens:

    overrides:
      - model: gpt-4o              # exact name as reported, or a glob such as "gpt-4o-2024-*"
        provider: openai           # optional; any provider when omitted
        workspace_id: T0001        # optional; every workspace when omitted
        effective_from: 2026-11-15 # inclusive, UTC day
        effective_to: 2027-01-01   # optional, exclusive
        input_per_mtok: 2.00
        cached_input_per_mtok: 1.00   # optional; defaults to input_per_mtok
        output_per_mtok: 8.00         # optional; defaults to 0 (embeddings)
        batch_discount: 0.5           # optional; defaults to the global batch discount

For one call, the override with the latest effective_from that covers the day wins (a workspace-
specific one beats a global one from the same day). Overrides also price models the catalogue
does not know.

A model found nowhere gets price_status 'unknown_model' and a NULL cost, never 0. A model the
catalogue knows but does not price per token (audio hours, characters) gets 'no_token_price'.

Pricing is per distinct (workspace, provider, model, day, batch): `rate()` is cached, and
`rates_table()` turns the few thousand combinations of ten million calls into a table that SQL
joins back (see pmflow/costs/reprice.py).
"""
from __future__ import annotations

import fnmatch
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml
from genai_prices import data_snapshot
from genai_prices.types import ModelInfo, ModelPrice, Provider, TieredPrices

CATALOGUE = f"genai-prices {version('genai-prices')}"

PRICED = "priced"
OVERRIDE = "override"
UNKNOWN_MODEL = "unknown_model"
NO_TOKEN_PRICE = "no_token_price"

# OpenTelemetry gen_ai.provider.name / gen_ai.system values -> genai-prices provider ids.
_OTEL_PROVIDERS = {
    "aws.bedrock": "aws",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "az.ai.inference": "azure",
    "az.ai.openai": "azure",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "vertex_ai": "google",
    "gemini": "google",
    "mistral_ai": "mistral",
    "x_ai": "x-ai",
    "xai": "x-ai",
    "deepseek": "deepseek",
    "groq": "groq",
    "perplexity": "perplexity",
    "cohere": "cohere",
    "anthropic": "anthropic",
    "openai": "openai",
}


class PriceConfigError(ValueError):
    """The override file is malformed; the message names the entry and the field."""


@dataclass(frozen=True)
class Override:
    model: str
    effective_from: date
    input_per_mtok: float
    cached_input_per_mtok: float | None = None
    output_per_mtok: float = 0.0
    provider: str | None = None
    workspace_id: str | None = None
    effective_to: date | None = None
    batch_discount: float | None = None

    def covers(self, workspace_id: str, provider: str | None, model: str, day: date) -> bool:
        if self.workspace_id is not None and self.workspace_id != workspace_id:
            return False
        if self.provider is not None and normalise_provider(provider) not in (None, normalise_provider(self.provider)):
            return False
        if not (self.effective_from <= day and (self.effective_to is None or day < self.effective_to)):
            return False
        pattern = self.model.lower()
        name = model.lower()
        return name == pattern or fnmatch.fnmatchcase(name, pattern)


@dataclass(frozen=True)
class Rate:
    """USD per million tokens for one (workspace, provider, model, day, batch)."""

    status: str
    source: str
    provider: str | None = None
    catalogue_model: str | None = None
    input_per_mtok: float | None = None
    cached_input_per_mtok: float | None = None
    output_per_mtok: float | None = None
    # Long-context tiers: above `tierN_start` input tokens in ONE call, every token of that call is
    # billed at the tier rate (the catalogue's "cliff" model). Aggregated buckets use base rates.
    tier1_start: int | None = None
    tier1_input: float | None = None
    tier1_cached: float | None = None
    tier1_output: float | None = None
    tier2_start: int | None = None
    tier2_input: float | None = None
    tier2_cached: float | None = None
    tier2_output: float | None = None

    @property
    def is_priced(self) -> bool:
        return self.status in (PRICED, OVERRIDE)

    def cost(self, input_tokens: int, cached_tokens: int, output_tokens: int, *, per_call: bool = True) -> float | None:
        """Cost of one call (or one bucket, per_call=False: no tiers) in USD; None when unpriced.

        input_tokens includes cached_tokens (OpenAI's and OpenTelemetry's convention)."""
        if not self.is_priced:
            return None
        inp, cached, out = self.input_per_mtok, self.cached_input_per_mtok, self.output_per_mtok
        if per_call:
            for start, t_in, t_cached, t_out in (
                (self.tier2_start, self.tier2_input, self.tier2_cached, self.tier2_output),
                (self.tier1_start, self.tier1_input, self.tier1_cached, self.tier1_output),
            ):
                if start is not None and input_tokens > start:
                    inp, cached, out = t_in, t_cached, t_out
                    break
        return ((input_tokens - cached_tokens) * inp + cached_tokens * cached + output_tokens * out) / 1e6


def normalise_provider(provider: str | None) -> str | None:
    if provider is None or not str(provider).strip():
        return None
    name = str(provider).strip().lower()
    return _OTEL_PROVIDERS.get(name, name)


def load_overrides(path: str | Path | None) -> list[Override]:
    """Reads the override file; a missing path means no overrides, a malformed one raises."""
    if path is None:
        return []
    path = Path(path)
    if not path.exists():
        raise PriceConfigError(f"price override file {path} does not exist (PMFLOW_PRICE_OVERRIDES)")
    document = yaml.safe_load(path.read_text()) or {}
    entries = document.get("overrides", []) if isinstance(document, Mapping) else document
    if not isinstance(entries, list):
        raise PriceConfigError(f"{path}: expected a list under 'overrides'")
    return [parse_override(entry, where=f"{path} entry {i + 1}") for i, entry in enumerate(entries)]


def parse_override(entry: Any, *, where: str = "override") -> Override:
    if not isinstance(entry, Mapping):
        raise PriceConfigError(f"{where}: expected a mapping, got {type(entry).__name__}")
    unknown = set(entry) - {f for f in Override.__dataclass_fields__}
    if unknown:
        raise PriceConfigError(f"{where}: unknown fields {sorted(unknown)}")
    for required in ("model", "effective_from", "input_per_mtok"):
        if entry.get(required) in (None, ""):
            raise PriceConfigError(f"{where}: '{required}' is required")

    def number(name: str, default: float | None) -> float | None:
        value = entry.get(name, default)
        if value is None:
            return None
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise PriceConfigError(f"{where}: '{name}' must be a number, got {value!r}") from None
        if value < 0:
            raise PriceConfigError(f"{where}: '{name}' must not be negative")
        return value

    def day(name: str) -> date | None:
        value = entry.get(name)
        if value is None or isinstance(value, date) and not isinstance(value, datetime):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise PriceConfigError(f"{where}: '{name}' must be a date YYYY-MM-DD, got {value!r}") from None

    discount = number("batch_discount", None)
    if discount is not None and discount > 1:
        raise PriceConfigError(f"{where}: 'batch_discount' is a fraction between 0 and 1")
    return Override(
        model=str(entry["model"]),
        effective_from=day("effective_from"),
        effective_to=day("effective_to"),
        input_per_mtok=number("input_per_mtok", None),
        cached_input_per_mtok=number("cached_input_per_mtok", None),
        output_per_mtok=number("output_per_mtok", 0.0),
        provider=entry.get("provider"),
        workspace_id=None if entry.get("workspace_id") is None else str(entry["workspace_id"]),
        batch_discount=discount,
    )


class PriceBook:
    """Rates from the catalogue and the overrides, cached per (workspace, provider, model, day, batch)."""

    def __init__(self, overrides: Iterable[Override] = (), *, batch_discount: float = 0.5):
        self.overrides = tuple(overrides)
        self.batch_discount = batch_discount
        self.rate = functools.lru_cache(maxsize=100_000)(self._rate)

    def _rate(self, workspace_id: str, provider: str | None, model: str | None, day: date, batch: bool = False) -> Rate:
        if not model:
            return Rate(status=UNKNOWN_MODEL, source="no model reported", provider=normalise_provider(provider))
        override = self._override(workspace_id, provider, model, day)
        if override is not None:
            return self._override_rate(override, provider, batch)
        return self._catalogue_rate(provider, model, day, batch)

    def _override(self, workspace_id: str, provider: str | None, model: str, day: date) -> Override | None:
        covering = [o for o in self.overrides if o.covers(workspace_id, provider, model, day)]
        if not covering:
            return None
        return max(covering, key=lambda o: (o.effective_from, o.workspace_id is not None))

    def _override_rate(self, o: Override, provider: str | None, batch: bool) -> Rate:
        factor = 1 - (o.batch_discount if o.batch_discount is not None else self.batch_discount) if batch else 1.0
        cached = o.cached_input_per_mtok if o.cached_input_per_mtok is not None else o.input_per_mtok
        return Rate(
            status=OVERRIDE,
            source=f"override {o.model} from {o.effective_from.isoformat()}" + (" (batch)" if batch else ""),
            provider=normalise_provider(o.provider or provider),
            catalogue_model=None,
            input_per_mtok=o.input_per_mtok * factor,
            cached_input_per_mtok=cached * factor,
            output_per_mtok=o.output_per_mtok * factor,
        )

    def _catalogue_rate(self, provider: str | None, model: str, day: date, batch: bool) -> Rate:
        found = find_model(provider, model)
        if found is None:
            return Rate(status=UNKNOWN_MODEL, source=f"not in {CATALOGUE}", provider=normalise_provider(provider))
        prov, info = found
        when = datetime.combine(day, time(12), tzinfo=UTC)
        standard = info.get_prices(when)
        factor = 1.0
        prices = standard
        how = ""
        if batch:
            if _has_active_batch_variant(info, when):
                prices = info.get_prices(when, {"processing": "batch"})
                how = " (catalogue batch price)"
            else:
                factor = 1 - self.batch_discount
                how = f" (batch: {self.batch_discount:.0%} off standard)"
        base_input = _base(prices.input_mtok)
        if base_input is None and _base(prices.output_mtok) is None:
            return Rate(status=NO_TOKEN_PRICE, source=f"{CATALOGUE}: {info.id} has no per-token price",
                        provider=prov.id, catalogue_model=info.id)
        tiers = _tiers(prices)
        rate = dict(
            status=PRICED,
            source=f"{CATALOGUE}: {prov.id}/{info.id}{how}",
            provider=prov.id,
            catalogue_model=info.id,
            input_per_mtok=_scaled(base_input or 0.0, factor),
            cached_input_per_mtok=_scaled(_base(prices.cache_read_mtok) if prices.cache_read_mtok is not None else (base_input or 0.0), factor),
            output_per_mtok=_scaled(_base(prices.output_mtok) or 0.0, factor),
        )
        for n, (start, t_in, t_cached, t_out) in enumerate(tiers[:2], start=1):
            rate.update({
                f"tier{n}_start": start,
                f"tier{n}_input": _scaled(t_in, factor),
                f"tier{n}_cached": _scaled(t_cached, factor),
                f"tier{n}_output": _scaled(t_out, factor),
            })
        return Rate(**rate)

    def rates_table(self, combos: pa.Table) -> pa.Table:
        """Prices a table of distinct (workspace_id, provider, model, usage_day, batch) combinations.

        Returns the same key columns (provider and model as given, NULLs kept) plus the rate columns."""
        keys = combos.to_pylist()
        rates = [self.rate(k["workspace_id"], k["provider"], k["model"], k["usage_day"], bool(k["batch"])) for k in keys]
        columns: dict[str, list] = {name: [k[name] for k in keys] for name in ("workspace_id", "provider", "model", "usage_day")}
        columns["batch"] = [bool(k["batch"]) for k in keys]
        for field in Rate.__dataclass_fields__:
            columns[_RATE_COLUMNS.get(field, field)] = [getattr(r, field) for r in rates]
        return pa.table(columns, schema=RATES_SCHEMA)


_RATE_COLUMNS = {"status": "price_status", "source": "rate_source", "provider": "priced_provider"}

RATES_SCHEMA = pa.schema([
    ("workspace_id", pa.string()),
    ("provider", pa.string()),
    ("model", pa.string()),
    ("usage_day", pa.date32()),
    ("batch", pa.bool_()),
    ("price_status", pa.string()),
    ("rate_source", pa.string()),
    ("priced_provider", pa.string()),
    ("catalogue_model", pa.string()),
    ("input_per_mtok", pa.float64()),
    ("cached_input_per_mtok", pa.float64()),
    ("output_per_mtok", pa.float64()),
    ("tier1_start", pa.int64()),
    ("tier1_input", pa.float64()),
    ("tier1_cached", pa.float64()),
    ("tier1_output", pa.float64()),
    ("tier2_start", pa.int64()),
    ("tier2_input", pa.float64()),
    ("tier2_cached", pa.float64()),
    ("tier2_output", pa.float64()),
])


@functools.lru_cache(maxsize=10_000)
def find_model(provider: str | None, model: str) -> tuple[Provider, ModelInfo] | None:
    """The catalogue's (provider, model) for a reported model name, or None when it is unknown."""
    snapshot = data_snapshot.get_snapshot()
    provider_id = normalise_provider(provider)
    attempts = [provider_id, None] if provider_id else [None]
    for pid in attempts:
        try:
            return snapshot.find_provider_model(model, None, pid, None)
        except LookupError:
            continue
    return None


def _has_active_batch_variant(info: ModelInfo, when: datetime) -> bool:
    for variant in info.price_variants or ():
        if variant.when.get("processing") == "batch" and (variant.constraint is None or variant.constraint.active(when)):
            return any(v is not None for v in variant.prices.__dict__.values())
    return False


def _base(price: Decimal | TieredPrices | None) -> float | None:
    if price is None:
        return None
    if isinstance(price, TieredPrices):
        return float(price.base)
    return float(price)


def _tiers(prices: ModelPrice) -> list[tuple[int, float, float, float]]:
    """Tier thresholds with (input, cached, output) rates at each, from the catalogue's TieredPrices."""
    starts = sorted({
        t.start
        for p in (prices.input_mtok, prices.cache_read_mtok, prices.output_mtok)
        if isinstance(p, TieredPrices)
        for t in p.tiers
    })

    def at(price: Decimal | TieredPrices | None, start: int, fallback: float) -> float:
        if price is None:
            return fallback
        if not isinstance(price, TieredPrices):
            return float(price)
        value = price.base
        for tier in price.tiers:
            if tier.start <= start:
                value = tier.price
        return float(value)

    out = []
    for start in starts:
        t_in = at(prices.input_mtok, start, 0.0)
        out.append((start, t_in, at(prices.cache_read_mtok, start, t_in), at(prices.output_mtok, start, 0.0)))
    return out


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def price_rows(rows: list[dict], book: PriceBook) -> list[dict]:
    """Sets cost_usd and price_status on core.llm_usage rows in place (loaders price at load time,
    with the same arithmetic as the SQL repricing, so a re-run writes identical values)."""
    for row in rows:
        rate = book.rate(row["workspace_id"], row.get("provider"), row.get("model"), row["usage_day"],
                         bool(row.get("batch")))
        row["price_status"] = rate.status
        row["cost_usd"] = rate.cost(row.get("input_tokens") or 0, row.get("cached_tokens") or 0,
                                    row.get("output_tokens") or 0, per_call=row.get("source") != "openai_usage")
    return rows
