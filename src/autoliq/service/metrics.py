"""Process-local metrics in Prometheus' text exposition format 0.0.4 (`GET /_autoliq/metrics`).

A tiny registry instead of prometheus_client: counters and fixed-bucket histograms whose hot-path
cost is one dict increment (a counter) or one `bisect` and two additions (a histogram).

One registry per process. With several workers each worker counts only the requests it served and
answers a scrape with its own numbers, every sample labelled `worker="<pid>"`; sum over `worker` in
the query (`sum without (worker) (...)`). Counters start at zero when a process starts.

Thread safety: counts change under the GIL (the PostgreSQL writer thread may count too). An increment
is a read-modify-write of one dict entry, so two threads counting the *same* series at the same
instant could lose one count; different series never interfere, and a scrape copies each dict before
reading it, so it never fails on a concurrent insert.
"""

from __future__ import annotations

import math
import os
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Literal

__all__ = [
    "CONTENT_TYPE",
    "Counter",
    "Histogram",
    "HistogramSeries",
    "Registry",
    "count_admin_action",
    "count_breach",
    "count_liquidation",
    "count_order",
    "observe_event_lag",
    "render",
]

CONTENT_TYPE = "text/plain; version=0.0.4"

LabelValue = str | int
Labels = tuple[LabelValue, ...]

# -- THE REGISTRY --


def _format_value(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _escape_label(value: LabelValue) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _label_text(names: Sequence[str], values: Iterable[LabelValue]) -> str:
    pairs = ",".join(f'{n}="{_escape_label(v)}"' for n, v in zip(names, values, strict=True))
    return "{" + pairs + "}"


def _sort_key(labels: Labels) -> tuple[str, ...]:
    return tuple(str(v) for v in labels)


class Counter:
    """A monotonically increasing count per label set."""

    kind = "counter"

    def __init__(self, name: str, help_text: str, label_names: Sequence[str]) -> None:
        self.name = name
        self.help = help_text
        self.label_names = tuple(label_names)
        self.values: dict[Labels, int | float] = {}
        if not self.label_names:
            self.values[()] = 0

    def inc(self, labels: Labels = (), amount: int | float = 1) -> None:
        """Add `amount` (default 1) to the series of `labels` (values in `label_names` order)."""
        values = self.values
        values[labels] = values.get(labels, 0) + amount

    def value(self, labels: Labels = ()) -> int | float:
        """The current count of `labels` (0 when never counted)."""
        return self.values.get(labels, 0)

    def samples(self, worker: str) -> list[str]:
        """The exposition lines of every series."""
        names = ("worker", *self.label_names)
        return [
            f"{self.name}{_label_text(names, (worker, *labels))} {_format_value(value)}"
            for labels, value in sorted(list(self.values.items()), key=lambda kv: _sort_key(kv[0]))
        ]


class HistogramSeries:
    """One label set's buckets (not cumulative; the last is +Inf) and sum."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        """Count `value` in the first bucket whose upper bound is at least `value`."""
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    @property
    def count(self) -> int:
        """How many values were observed."""
        return sum(self.counts)


class Histogram:
    """Observations in fixed buckets per label set, exposed cumulatively with `_sum` and `_count`."""

    kind = "histogram"

    def __init__(
        self, name: str, help_text: str, label_names: Sequence[str], buckets: Sequence[float]
    ) -> None:
        bounds = tuple(float(b) for b in buckets)
        if list(bounds) != sorted(set(bounds)) or not bounds or math.isinf(bounds[-1]):
            raise ValueError("buckets must be finite, increasing and not empty (+Inf is implicit)")
        if "le" in label_names:
            raise ValueError("`le` is reserved for histogram buckets")
        self.name = name
        self.help = help_text
        self.label_names = tuple(label_names)
        self.bounds = bounds
        self.series: dict[Labels, HistogramSeries] = {}
        if not self.label_names:
            self.series[()] = HistogramSeries(bounds)

    def labels(self, labels: Labels = ()) -> HistogramSeries:
        """The series of `labels`, created on first use (hot paths keep it and call `observe`)."""
        found = self.series.get(labels)
        if found is None:
            found = self.series.setdefault(labels, HistogramSeries(self.bounds))
        return found

    def observe(self, value: float, labels: Labels = ()) -> None:
        """Count `value` in the series of `labels`."""
        self.labels(labels).observe(value)

    def samples(self, worker: str) -> list[str]:
        """The exposition lines: cumulative `_bucket`s ending with `le="+Inf"`, `_sum`, `_count`."""
        names = ("worker", *self.label_names)
        bucket_names = (*names, "le")
        bounds = [*(_format_value(b) for b in self.bounds), "+Inf"]
        lines: list[str] = []
        for labels, series in sorted(list(self.series.items()), key=lambda kv: _sort_key(kv[0])):
            values = (worker, *labels)
            counts = list(series.counts)  # one consistent copy: the +Inf bucket equals _count
            running = 0
            for le, n in zip(bounds, counts, strict=True):
                running += n
                lines.append(f"{self.name}_bucket{_label_text(bucket_names, (*values, le))} {running}")
            lines.append(f"{self.name}_sum{_label_text(names, values)} {_format_value(series.sum)}")
            lines.append(f"{self.name}_count{_label_text(names, values)} {running}")
        return lines


class Registry:
    """Metrics in registration order, rendered together."""

    def __init__(self) -> None:
        self.metrics: dict[str, Counter | Histogram] = {}

    def _add(self, metric: Counter | Histogram) -> None:
        if metric.name in self.metrics:
            raise ValueError(f"metric {metric.name} is already registered")
        self.metrics[metric.name] = metric

    def counter(self, name: str, help_text: str, label_names: Sequence[str] = ()) -> Counter:
        """A new counter (its name ends with `_total`)."""
        if not name.endswith("_total"):
            raise ValueError("a counter's name ends with _total")
        metric = Counter(name, help_text, label_names)
        self._add(metric)
        return metric

    def histogram(
        self, name: str, help_text: str, label_names: Sequence[str] = (), *, buckets: Sequence[float]
    ) -> Histogram:
        """A new histogram with fixed bucket upper bounds (+Inf added)."""
        metric = Histogram(name, help_text, label_names, buckets)
        self._add(metric)
        return metric

    def render(self, worker: str | None = None) -> str:
        """Every metric in text format 0.0.4, each sample labelled `worker` (default: this pid)."""
        worker = str(os.getpid()) if worker is None else worker
        lines: list[str] = []
        for metric in list(self.metrics.values()):
            lines.append(f"# HELP {metric.name} {_escape_help(metric.help)}")
            lines.append(f"# TYPE {metric.name} {metric.kind}")
            lines.extend(metric.samples(worker))
        return "\n".join(lines) + "\n"


# -- AUTOLIQ'S METRICS --

REGISTRY = Registry()
"""This process's registry."""

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = REGISTRY.counter(
    "autoliq_http_requests_total",
    "HTTP requests answered, by route template, method and status code.",
    ("route", "method", "status"),
)
HTTP_DURATION = REGISTRY.histogram(
    "autoliq_http_request_duration_seconds",
    "Time from a request's arrival to its answer's last byte, by route template.",
    ("route",),
    buckets=LATENCY_BUCKETS,
)
ADMIN_ACTIONS = REGISTRY.counter(
    "autoliq_admin_actions_total",
    "Successful setadminautoliqaction calls, by adminAction.",
    ("action",),
)
ORDERS = REGISTRY.counter(
    "autoliq_orders_total",
    "placeorder outcomes: accepted, or the failureReason.",
    ("result",),
)
LIQUIDATIONS = REGISTRY.counter(
    "autoliq_liquidations_total",
    "Account liquidations started, by source: admin (LiquidateImmediately), auto_liq (a rule breach), "
    "flatten (flattenTimestamp).",
    ("source",),
)
BREACHES = REGISTRY.counter(
    "autoliq_auto_liq_breaches_total",
    "Post-trade rule breaches, by rule and level.",
    ("rule", "level"),
)
EVENT_LAG = REGISTRY.histogram(
    "autoliq_event_lag_seconds",
    "Time from a write's commit to its events reaching a publisher, by path: local (the writing "
    "worker's own publisher) or outbox (another worker's relay read them; wall clocks, so across "
    "machines their skew is included).",
    ("path",),
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)

for _path in ("local", "outbox"):
    EVENT_LAG.labels((_path,))  # both series shown from the first scrape

UNMATCHED_ROUTE = "unmatched"
"""The `route` label of a request no route matched (never the raw path: ids would explode the series)."""

LiquidationSource = Literal["admin", "auto_liq", "flatten"]


def count_admin_action(action: str) -> None:
    """One successful setadminautoliqaction setting `action`."""
    ADMIN_ACTIONS.inc((action,))


def count_order(result: str) -> None:
    """One placeorder outcome: `accepted` or its failureReason."""
    ORDERS.inc((result,))


def count_liquidation(source: LiquidationSource) -> None:
    """One account liquidation started by `source` (`admin`, `auto_liq` or `flatten`)."""
    LIQUIDATIONS.inc((source,))


def count_breach(rule: str, level: str) -> None:
    """One post-trade rule breach of `rule` at `level`."""
    BREACHES.inc((rule, level))


EventPath = Literal["local", "outbox"]


def observe_event_lag(seconds: float, path: EventPath) -> None:
    """The time from a write's commit to its events reaching a publisher by `path`."""
    EVENT_LAG.observe(seconds, (path,))


def render() -> str:
    """This process's metrics in text format 0.0.4."""
    return REGISTRY.render()
