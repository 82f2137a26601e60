"""Process-local metrics in Prometheus' text exposition format 0.0.4 (`GET /_autoliq/metrics`).

A tiny registry instead of prometheus_client: counters and fixed-bucket histograms whose hot-path
cost is one dict increment (a counter) or one `bisect` and two additions (a histogram).

One registry per process, every sample labelled `worker="<pid>"`; sum over `worker` in the query
(`sum without (worker) (...)`). Counters start at zero when a process starts. With several workers
each worker counts only the requests it served: `snapshot()` copies its numbers as plain data (no
text formatted: cheap enough to take every second), `autoliq serve --workers N` has each worker
publish it for the others (telemetry/metrics_share.py), and `render(others)` answers a scrape with
this process's live numbers followed, family by family, by the other processes' snapshots.

Thread safety: counts change under the GIL (the PostgreSQL writer thread may count too). An increment
is a read-modify-write of one dict entry, so two threads counting the *same* series at the same
instant could lose one count; different series never interfere, and a scrape or a snapshot copies
each dict before reading it, so it never fails on a concurrent insert.
"""

from __future__ import annotations

import gc
import math
import os
import platform
import resource
import sys
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CONTENT_TYPE",
    "Counter",
    "Histogram",
    "HistogramSeries",
    "Registry",
    "Snapshot",
    "count_admin_action",
    "count_breach",
    "count_liquidation",
    "count_order",
    "observe_event_lag",
    "render",
    "snapshot",
]

CONTENT_TYPE = "text/plain; version=0.0.4"

LabelValue = str | int
Labels = tuple[LabelValue, ...]

NonFinite = Literal["+Inf", "-Inf", "NaN"]
SnapshotValue = int | float | NonFinite
"""A count or sum in a snapshot; a non-finite float as its exposition spelling (JSON has none)."""
CounterData = list[tuple[Labels, SnapshotValue]]
"""A counter's series: (label values, count)."""
HistogramData = list[tuple[Labels, list[int], SnapshotValue]]
"""A histogram's series: (label values, per-bucket counts (not cumulative, the last is +Inf), sum)."""


@dataclass(frozen=True)
class Snapshot:
    """One process's numbers as data, by family name (series unsorted), for another process to render
    with its own (`Registry.render(others=...)`)."""

    worker: str
    """The `worker` label of its samples (the process id)."""
    counters: dict[str, CounterData]
    histograms: dict[str, HistogramData]


# -- THE REGISTRY --


def _format_value(value: float | str) -> str:
    if isinstance(value, str):  # a snapshot's non-finite value, already spelled
        return value
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _snapshot_value(value: float) -> SnapshotValue:
    if isinstance(value, int) or math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else "+Inf" if value > 0 else "-Inf"


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

    def data(self) -> CounterData:
        """A copy of every series, for a snapshot."""
        return [(labels, _snapshot_value(value)) for labels, value in list(self.values.items())]

    def samples(self, worker: str, data: CounterData | None = None) -> list[str]:
        """The exposition lines of every series (of `data`, another process's, when given)."""
        names = ("worker", *self.label_names)
        arity = len(self.label_names)
        series: Iterable[tuple[Labels, float | str]] = (
            list(self.values.items()) if data is None else [s for s in data if len(s[0]) == arity]
        )
        return [
            f"{self.name}{_label_text(names, (worker, *labels))} {_format_value(value)}"
            for labels, value in sorted(series, key=lambda kv: _sort_key(kv[0]))
        ]


class Sampled(Counter):
    """Series read from the process when a scrape or a snapshot asks (CPU time, memory, open files,
    the collector's counts, build info): a `gauge`, or a `counter` the process itself keeps. Shared
    with the other workers like a counter (its samples travel in a snapshot's counters)."""

    def __init__(
        self,
        name: str,
        help_text: str,
        label_names: Sequence[str],
        kind: Literal["gauge", "counter"],
        read: Callable[[], list[tuple[Labels, float]]],
    ) -> None:
        super().__init__(name, help_text, label_names)
        self.kind = kind
        self._read = read

    def _refresh(self) -> None:
        try:
            found = self._read()
        except OSError:  # a source this platform lacks (no /proc): the family shows no series
            found = []
        self.values = {labels: value for labels, value in found}

    def data(self) -> CounterData:
        self._refresh()
        return super().data()

    def samples(self, worker: str, data: CounterData | None = None) -> list[str]:
        if data is None:
            self._refresh()
        return super().samples(worker, data)


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

    def data(self) -> HistogramData:
        """A copy of every series, for a snapshot (each series' counts copied at once: its +Inf
        bucket equals its `_count`)."""
        return [
            (labels, list(series.counts), _snapshot_value(series.sum))
            for labels, series in list(self.series.items())
        ]

    def samples(self, worker: str, data: HistogramData | None = None) -> list[str]:
        """The exposition lines (of `data`, another process's, when given): cumulative `_bucket`s
        ending with `le="+Inf"`, `_sum`, `_count`."""
        if data is None:
            data = self.data()
        else:
            # Another process's series fit when they have this histogram's labels and buckets.
            arity, buckets = len(self.label_names), len(self.bounds) + 1
            data = [s for s in data if len(s[0]) == arity and len(s[1]) == buckets]
        names = ("worker", *self.label_names)
        le_texts = [f',le="{_format_value(b)}"}} ' for b in self.bounds] + [',le="+Inf"} ']
        lines: list[str] = []
        for labels, counts, total in sorted(data, key=lambda s: _sort_key(s[0])):
            label_text = _label_text(names, (worker, *labels))  # escaped once per series
            pairs = label_text[1:-1]
            running = 0
            for le_text, n in zip(le_texts, counts, strict=True):
                running += n
                lines.append(f"{self.name}_bucket{{{pairs}{le_text}{running}")
            lines.append(f"{self.name}_sum{label_text} {_format_value(total)}")
            lines.append(f"{self.name}_count{label_text} {running}")
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

    def sampled(
        self,
        name: str,
        help_text: str,
        read: Callable[[], list[tuple[Labels, float]]],
        *,
        kind: Literal["gauge", "counter"] = "gauge",
        label_names: Sequence[str] = (),
    ) -> Sampled:
        """A new family whose series `read` returns when a scrape or snapshot asks."""
        if (kind == "counter") != name.endswith("_total"):
            raise ValueError("a counter's name ends with _total, a gauge's does not")
        metric = Sampled(name, help_text, label_names, kind, read)
        self._add(metric)
        return metric

    def histogram(
        self, name: str, help_text: str, label_names: Sequence[str] = (), *, buckets: Sequence[float]
    ) -> Histogram:
        """A new histogram with fixed bucket upper bounds (+Inf added)."""
        metric = Histogram(name, help_text, label_names, buckets)
        self._add(metric)
        return metric

    def snapshot(self, worker: str | None = None) -> Snapshot:
        """Every metric's series as data, labelled `worker` (default: this pid)."""
        counters: dict[str, CounterData] = {}
        histograms: dict[str, HistogramData] = {}
        for metric in list(self.metrics.values()):
            if isinstance(metric, Counter):
                counters[metric.name] = metric.data()
            else:
                histograms[metric.name] = metric.data()
        return Snapshot(str(os.getpid()) if worker is None else worker, counters, histograms)

    def render(self, worker: str | None = None, others: Iterable[Snapshot] = ()) -> str:
        """Every metric in text format 0.0.4, each sample labelled `worker` (default: this pid).

        With `others` (other processes' snapshots), each family's HELP and TYPE come once, followed by
        this process's samples and then theirs, each labelled with its own worker: the format wants
        one family's samples together. What this registry does not know (a family, a series with
        another number of labels or buckets) is left out."""
        worker = str(os.getpid()) if worker is None else worker
        others = list(others)
        lines: list[str] = []
        for metric in list(self.metrics.values()):
            lines.append(f"# HELP {metric.name} {_escape_help(metric.help)}")
            lines.append(f"# TYPE {metric.name} {metric.kind}")
            lines.extend(metric.samples(worker))
            for other in others:
                if isinstance(metric, Counter):
                    counted = other.counters.get(metric.name)
                    if counted is not None:
                        lines.extend(metric.samples(other.worker, counted))
                else:
                    observed = other.histograms.get(metric.name)
                    if observed is not None:
                        lines.extend(metric.samples(other.worker, observed))
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
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""The methods counted under their name; any other is counted as `OTHER` (the label stays bounded)."""


class RequestMetrics:
    """The recorder of answered requests (`HTTP_REQUESTS` and `HTTP_DURATION`): each (route, method,
    status) it has seen keeps its counter key and its histogram series, so a request costs one dict
    lookup, one increment and one `bisect` (no label tuple built, no series looked up)."""

    __slots__ = ("_durations", "_requests", "_seen")

    def __init__(self, requests: Counter, durations: Histogram) -> None:
        self._requests = requests
        self._durations = durations
        self._seen: dict[tuple[str, str, int], tuple[Labels, HistogramSeries]] = {}

    def record(self, route: str, method: str, status: int, seconds: float) -> None:
        """An answered request: `route` a template (never a raw path), its method and status."""
        if method not in HTTP_METHODS:
            method = "OTHER"
        seen = self._seen.get((route, method, status))
        if seen is None:
            key: Labels = (route, method, status)
            seen = self._seen.setdefault((route, method, status), (key, self._durations.labels((route,))))
        values = self._requests.values
        values[seen[0]] = values.get(seen[0], 0) + 1
        seen[1].observe(seconds)


REQUEST_METRICS = RequestMetrics(HTTP_REQUESTS, HTTP_DURATION)
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


# -- THE PROCESS (read at scrape time; Linux's /proc where it has the number) --


def _cpu_seconds() -> list[tuple[Labels, float]]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return [((), round(usage.ru_utime + usage.ru_stime, 6))]


def _resident_bytes() -> list[tuple[Labels, float]]:
    with open("/proc/self/statm", encoding="ascii") as statm:
        resident_pages = int(statm.read().split()[1])
    return [((), resident_pages * os.sysconf("SC_PAGE_SIZE"))]


def _open_fds() -> list[tuple[Labels, float]]:
    return [((), len(os.listdir("/proc/self/fd")))]


def _max_fds() -> list[tuple[Labels, float]]:
    return [((), resource.getrlimit(resource.RLIMIT_NOFILE)[0])]


_LOADED = time.time()


def _start_time() -> list[tuple[Labels, float]]:
    """From /proc (boot time + the process's start in clock ticks); elsewhere when this module loaded."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            ticks = int(stat.read().rpartition(")")[2].split()[19])
        with open("/proc/stat", encoding="ascii") as system:
            boot = next(int(line.split()[1]) for line in system if line.startswith("btime "))
        return [((), round(boot + ticks / os.sysconf("SC_CLK_TCK"), 3))]
    except (OSError, ValueError, StopIteration, IndexError):
        return [((), round(_LOADED, 3))]


def _gc_collections() -> list[tuple[Labels, float]]:
    return [((str(generation),), stats["collections"]) for generation, stats in enumerate(gc.get_stats())]


def _gc_collected() -> list[tuple[Labels, float]]:
    return [((str(generation),), stats["collected"]) for generation, stats in enumerate(gc.get_stats())]


def _build_info() -> list[tuple[Labels, float]]:
    from autoliq import __version__

    return [((__version__, platform.python_version(), sys.platform), 1)]


REGISTRY.sampled(
    "process_cpu_seconds_total", "User and system CPU time spent, in seconds.", _cpu_seconds, kind="counter"
)
REGISTRY.sampled("process_resident_memory_bytes", "Resident memory size in bytes.", _resident_bytes)
REGISTRY.sampled("process_open_fds", "Number of open file descriptors.", _open_fds)
REGISTRY.sampled("process_max_fds", "Maximum number of open file descriptors (the soft limit).", _max_fds)
REGISTRY.sampled(
    "process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.", _start_time
)
REGISTRY.sampled(
    "python_gc_collections_total",
    "Collections the garbage collector ran, by generation.",
    _gc_collections,
    kind="counter",
    label_names=("generation",),
)
REGISTRY.sampled(
    "python_gc_objects_collected_total",
    "Objects the garbage collector found unreachable, by generation.",
    _gc_collected,
    kind="counter",
    label_names=("generation",),
)
REGISTRY.sampled(
    "autoliq_build_info",
    "1, labelled with the running autoliq version, Python version and platform.",
    _build_info,
    label_names=("version", "python", "platform"),
)

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


def snapshot() -> Snapshot:
    """This process's samples as data (for the other workers: `render(others)`)."""
    return REGISTRY.snapshot()


def render(others: Iterable[Snapshot] = ()) -> str:
    """This process's metrics in text format 0.0.4, with other processes' `snapshot()`s merged in."""
    return REGISTRY.render(others=others)
