"""The metrics registry and its text exposition (format 0.0.4)."""

from __future__ import annotations

import math
import os
import re
import threading

import pytest

from autoliq.telemetry import metrics
from autoliq.telemetry.metrics import Registry, Snapshot
from tests.prometheus_text import ExpositionError, parse

AUTOLIQ_FAMILIES = {
    "autoliq_http_requests_total": "counter",
    "autoliq_http_request_duration_seconds": "histogram",
    "autoliq_admin_actions_total": "counter",
    "autoliq_orders_total": "counter",
    "autoliq_liquidations_total": "counter",
    "autoliq_auto_liq_breaches_total": "counter",
    "autoliq_event_lag_seconds": "histogram",
}


def test_counter_when_incremented_then_one_sample_per_label_set_with_the_worker_label() -> None:
    registry = Registry()
    requests = registry.counter("x_requests_total", "Requests.", ("route", "status"))
    requests.inc(("/b", 200))
    requests.inc(("/a", 404), 2)
    requests.inc(("/b", 200))

    text = registry.render(worker="77")

    assert text.splitlines() == [
        "# HELP x_requests_total Requests.",
        "# TYPE x_requests_total counter",
        'x_requests_total{worker="77",route="/a",status="404"} 2',
        'x_requests_total{worker="77",route="/b",status="200"} 2',
    ]
    assert parse(text).value("x_requests_total", route="/b", status="200") == 2


def test_counter_when_never_counted_then_only_its_help_and_type() -> None:
    registry = Registry()
    registry.counter("x_total", "Nothing yet.", ("kind",))

    assert registry.render(worker="1") == "# HELP x_total Nothing yet.\n# TYPE x_total counter\n"


def test_render_when_no_worker_given_then_labelled_with_this_process_id() -> None:
    registry = Registry()
    registry.counter("x_total", "Unlabelled.").inc()

    found = parse(registry.render())

    assert found.series("x_total", without=()) == {frozenset({("worker", str(os.getpid()))}): 1}


def test_histogram_when_values_observed_then_cumulative_buckets_le_inclusive_sum_and_count() -> None:
    registry = Registry()
    latency = registry.histogram("x_seconds", "Latency.", ("route",), buckets=(0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 1.0, 7.0):
        latency.observe(value, ("/a",))

    text = registry.render(worker="9")

    assert text.splitlines()[2:] == [
        'x_seconds_bucket{worker="9",route="/a",le="0.1"} 2',
        'x_seconds_bucket{worker="9",route="/a",le="1.0"} 4',
        'x_seconds_bucket{worker="9",route="/a",le="+Inf"} 5',
        'x_seconds_sum{worker="9",route="/a"} 8.65',
        'x_seconds_count{worker="9",route="/a"} 5',
    ]
    assert parse(text).value("x_seconds_count", route="/a") == 5


def test_histogram_when_unlabelled_and_never_observed_then_shown_with_zero_counts() -> None:
    registry = Registry()
    registry.histogram("lag_seconds", "Lag.", buckets=(0.5,))

    assert registry.render(worker="3").splitlines() == [
        "# HELP lag_seconds Lag.",
        "# TYPE lag_seconds histogram",
        'lag_seconds_bucket{worker="3",le="0.5"} 0',
        'lag_seconds_bucket{worker="3",le="+Inf"} 0',
        'lag_seconds_sum{worker="3"} 0.0',
        'lag_seconds_count{worker="3"} 0',
    ]


def test_labels_when_values_hold_quotes_backslashes_and_newlines_then_escaped_and_read_back() -> None:
    registry = Registry()
    odd = 'a "quoted"\\path\nnext'
    registry.counter("x_total", "Help with a \\ and a\nnewline.", ("v",)).inc((odd,))

    text = registry.render(worker="1")

    assert '{worker="1",v="a \\"quoted\\"\\\\path\\nnext"} 1' in text
    assert "# HELP x_total Help with a \\\\ and a\\nnewline." in text
    assert parse(text).value("x_total", v=odd) == 1


def test_special_values_when_rendered_then_go_spellings() -> None:
    registry = Registry()
    gauge_like = registry.counter("x_total", "Floats.", ("k",))
    gauge_like.inc(("inf",), math.inf)
    gauge_like.inc(("half",), 0.5)

    found = parse(registry.render(worker="1"))

    assert 'x_total{worker="1",k="inf"} +Inf' in registry.render(worker="1")
    assert found.value("x_total", k="inf") == math.inf
    assert found.value("x_total", k="half") == 0.5


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda r: r.counter("x", "no suffix"), "_total"),
        (lambda r: r.histogram("h", "unsorted", buckets=(1.0, 0.5)), "increasing"),
        (lambda r: r.histogram("h", "empty", buckets=()), "increasing"),
        (lambda r: r.histogram("h", "explicit +Inf", buckets=(1.0, math.inf)), "increasing"),
        (lambda r: r.histogram("h", "le label", ("le",), buckets=(1.0,)), "reserved"),
    ],
)
def test_registry_when_metric_malformed_then_refused(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(Registry())  # type: ignore[operator]


def test_registry_when_name_registered_twice_then_refused() -> None:
    registry = Registry()
    registry.counter("x_total", "First.")
    with pytest.raises(ValueError, match="already registered"):
        registry.histogram("x_total", "Second.", buckets=(1.0,))


def test_counter_when_threads_count_their_own_series_while_scraped_then_nothing_lost_or_raised() -> None:
    registry = Registry()
    counter = registry.counter("x_total", "Threads.", ("thread", "slot"))
    per_thread, threads = 20_000, 4
    scrapes: list[str] = []

    def work(name: str) -> None:
        for i in range(per_thread):
            counter.inc((name, str(i % 400)))

    workers = [threading.Thread(target=work, args=(f"t{n}",)) for n in range(threads)]
    for w in workers:
        w.start()
    while any(w.is_alive() for w in workers):
        scrapes.append(registry.render(worker="1"))  # new series appear meanwhile: must not raise
    for w in workers:
        w.join()

    final = parse(registry.render(worker="1")).series("x_total")
    assert len(final) == threads * 400
    assert sum(final.values()) == threads * per_thread
    assert all(v == per_thread / 400 for v in final.values())
    for text in scrapes:
        parse(text)


def test_autoliq_registry_when_rendered_then_every_family_with_its_type_and_event_lag_always_shown() -> None:
    found = parse(metrics.render())

    assert {name: found.types[name] for name in AUTOLIQ_FAMILIES} == AUTOLIQ_FAMILIES
    assert all(found.helps[name] for name in AUTOLIQ_FAMILIES)
    lag = found.series("autoliq_event_lag_seconds_bucket")
    for path in ("local", "outbox"):
        assert frozenset({("path", path), ("le", "+Inf")}) in lag
        assert frozenset({("path", path)}) in found.series("autoliq_event_lag_seconds_count")


PROCESS_FAMILIES = ("process_", "python_gc_")


def test_autoliq_counters_when_called_then_their_series_move_by_one() -> None:
    before = parse(metrics.render())

    metrics.count_liquidation("flatten")
    metrics.count_breach("dailyLossLimit", "AutoLiq")
    metrics.count_admin_action("LockTradingImmediately")
    metrics.count_order("TradingLocked")
    metrics.observe_event_lag(0.0003, "outbox")

    after = parse(metrics.render())
    moved = {
        key: after.samples[key] - before.samples.get(key, 0.0)
        for key in after.samples
        if after.samples[key] != before.samples.get(key, 0.0)
        and not key[0].endswith("_sum")
        and not key[0].startswith(PROCESS_FAMILIES)  # the process's own: they move by themselves
    }
    moved_by_name = {(name, frozenset(kv for kv in labels if kv[0] != "worker")) for name, labels in moved}
    assert set(moved.values()) == {1}
    assert moved_by_name == {
        ("autoliq_liquidations_total", frozenset({("source", "flatten")})),
        ("autoliq_auto_liq_breaches_total", frozenset({("rule", "dailyLossLimit"), ("level", "AutoLiq")})),
        ("autoliq_admin_actions_total", frozenset({("action", "LockTradingImmediately")})),
        ("autoliq_orders_total", frozenset({("result", "TradingLocked")})),
        *(
            ("autoliq_event_lag_seconds_bucket", labels)
            for labels in after.series("autoliq_event_lag_seconds_bucket")
            if float(dict(labels)["le"]) >= 0.0003 and dict(labels)["path"] == "outbox"
        ),
        ("autoliq_event_lag_seconds_count", frozenset({("path", "outbox")})),
    }


SAMPLE_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def family_runs(text: str) -> list[str]:
    """The family of each run of consecutive lines (HELP, TYPE and samples), in order."""
    kinds: dict[str, str] = {}
    runs: list[str] = []
    for line in text.splitlines():
        if line.startswith(("# HELP ", "# TYPE ")):
            _, keyword, family, *rest = line.split(" ", 3)
            if keyword == "TYPE":
                kinds[family] = rest[0]
        else:
            match = SAMPLE_NAME.match(line)
            assert match is not None, line
            family = match.group(0)
            for suffix in ("_bucket", "_sum", "_count"):
                if kinds.get(family.removesuffix(suffix)) == "histogram":
                    family = family.removesuffix(suffix)
        if not runs or runs[-1] != family:
            runs.append(family)
    return runs


def assert_families_together(text: str) -> None:
    """Each family's HELP, TYPE and samples form one run of lines (the text format requires it)."""
    runs = family_runs(text)
    assert len(runs) == len(set(runs)), runs


def two_processes() -> tuple[Registry, Registry]:
    """Two registries with the same metrics, as two workers running the same code have."""
    registries = (Registry(), Registry())
    for registry in registries:
        registry.counter("x_requests_total", "Requests.", ("route", "status"))
        registry.histogram("x_seconds", "Latency.", ("route",), buckets=(0.1,))
        registry.counter("x_idle_total", "Never counted.", ("kind",))
    return registries


def test_render_when_other_snapshots_given_then_each_family_once_with_all_samples_together() -> None:
    this, other = two_processes()
    this.metrics["x_requests_total"].inc(("/a", 200), 2)  # type: ignore[union-attr]
    this.metrics["x_seconds"].observe(0.05, ("/a",))  # type: ignore[union-attr]
    other.metrics["x_requests_total"].inc(("/a", 200), 5)  # type: ignore[union-attr]
    other.metrics["x_requests_total"].inc(("/b", 404))  # type: ignore[union-attr]
    other.metrics["x_seconds"].observe(0.5, ("/b",))  # type: ignore[union-attr]

    text = this.render(worker="1", others=[other.snapshot(worker="2")])

    assert text.splitlines() == [
        "# HELP x_requests_total Requests.",
        "# TYPE x_requests_total counter",
        'x_requests_total{worker="1",route="/a",status="200"} 2',
        'x_requests_total{worker="2",route="/a",status="200"} 5',
        'x_requests_total{worker="2",route="/b",status="404"} 1',
        "# HELP x_seconds Latency.",
        "# TYPE x_seconds histogram",
        'x_seconds_bucket{worker="1",route="/a",le="0.1"} 1',
        'x_seconds_bucket{worker="1",route="/a",le="+Inf"} 1',
        'x_seconds_sum{worker="1",route="/a"} 0.05',
        'x_seconds_count{worker="1",route="/a"} 1',
        'x_seconds_bucket{worker="2",route="/b",le="0.1"} 0',
        'x_seconds_bucket{worker="2",route="/b",le="+Inf"} 1',
        'x_seconds_sum{worker="2",route="/b"} 0.5',
        'x_seconds_count{worker="2",route="/b"} 1',
        "# HELP x_idle_total Never counted.",
        "# TYPE x_idle_total counter",
    ]
    assert_families_together(text)
    found = parse(text)
    assert found.series("x_requests_total", without=()) == {
        frozenset({("worker", "1"), ("route", "/a"), ("status", "200")}): 2,
        frozenset({("worker", "2"), ("route", "/a"), ("status", "200")}): 5,
        frozenset({("worker", "2"), ("route", "/b"), ("status", "404")}): 1,
    }
    assert sum(found.series("x_seconds_count", without=()).values()) == 2


def test_render_when_three_processes_then_same_families_as_alone_and_each_family_together() -> None:
    registries = [two_processes()[0] for _ in range(3)]
    for n, registry in enumerate(registries, start=1):
        registry.metrics["x_requests_total"].inc(("/a", 200), n)  # type: ignore[union-attr]
        registry.metrics["x_seconds"].observe(0.01 * n, ("/a",))  # type: ignore[union-attr]
    others = [registries[1].snapshot(worker="2"), registries[2].snapshot(worker="3")]

    text = registries[0].render(worker="1", others=others)

    alone = registries[0].render(worker="1")
    assert family_runs(text) == family_runs(alone) == ["x_requests_total", "x_seconds", "x_idle_total"]
    found = parse(text)
    assert found.types == parse(alone).types
    assert {dict(k)["worker"]: v for k, v in found.series("x_requests_total", without=()).items()} == {
        "1": 1,
        "2": 2,
        "3": 3,
    }
    counts = found.series("x_seconds_count", without=())
    assert {dict(k)["worker"]: v for k, v in counts.items()} == {"1": 1, "2": 1, "3": 1}


def test_snapshot_when_taken_then_a_copy_that_later_counts_do_not_change() -> None:
    this, other = two_processes()
    other.metrics["x_requests_total"].inc(("/a", 200))  # type: ignore[union-attr]
    other.metrics["x_seconds"].observe(0.05, ("/a",))  # type: ignore[union-attr]
    taken = other.snapshot(worker="2")

    other.metrics["x_requests_total"].inc(("/a", 200), 10)  # type: ignore[union-attr]
    other.metrics["x_seconds"].observe(0.05, ("/a",))  # type: ignore[union-attr]

    found = parse(this.render(worker="1", others=[taken]))
    assert found.value("x_requests_total", route="/a", status="200") == 1
    assert found.value("x_seconds_count", route="/a") == 1
    assert taken.worker == "2"


def test_render_when_snapshot_holds_non_finite_values_then_spelled_as_the_format_wants() -> None:
    this, other = two_processes()
    other.metrics["x_requests_total"].inc(("/inf", 200), math.inf)  # type: ignore[union-attr]
    other.metrics["x_seconds"].observe(math.inf, ("/a",))  # type: ignore[union-attr]
    taken = other.snapshot(worker="2")

    text = this.render(worker="1", others=[taken])

    assert 'x_requests_total{worker="2",route="/inf",status="200"} +Inf' in text
    assert 'x_seconds_sum{worker="2",route="/a"} +Inf' in text
    assert taken.counters["x_requests_total"] == [(("/inf", 200), "+Inf")]  # JSON has no Inf
    assert parse(text).value("x_requests_total", route="/inf", status="200") == math.inf


def test_render_when_snapshot_has_unknown_family_or_misfit_series_then_they_are_left_out() -> None:
    this, _ = two_processes()
    odd = Snapshot(
        worker="2",
        counters={
            "x_requests_total": [(("/a",), 1), (("/a", 200), 4)],  # one label short, then a fit
            "y_unknown_total": [((), 9)],
        },
        histograms={"x_seconds": [(("/a",), [1, 2, 3], 0.5), (("/b",), [1, 1], 0.5)]},  # 3 buckets of 2
    )

    text = this.render(worker="1", others=[odd])

    found = parse(text)
    assert "y_unknown_total" not in text
    assert found.series("x_requests_total", without=()) == {
        frozenset({("worker", "2"), ("route", "/a"), ("status", "200")}): 4
    }
    assert found.series("x_seconds_count") == {frozenset({("route", "/b")}): 2}


@pytest.mark.parametrize(
    "text",
    [
        "x_total 1",  # no trailing newline
        "# TYPE x_total counter\nx_total{a=b} 1\n",  # unquoted label value
        "x_total 1\n",  # no TYPE
        "# TYPE x_total counter\nx_total 1\nx_total 1\n",  # duplicate
        '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
        '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',  # no +Inf
    ],
)
def test_exposition_reader_when_text_is_invalid_then_refused(text: str) -> None:
    with pytest.raises(ExpositionError):
        parse(text)


def test_sampled_family_when_scraped_then_read_now_shared_in_snapshots_and_empty_where_unreadable() -> None:
    registry = metrics.Registry()
    reading = {"value": 5.0}
    registry.sampled("test_gauge", "A gauge.", lambda: [((), reading["value"])])

    def unreadable() -> list[tuple[metrics.Labels, float]]:
        raise OSError("no /proc here")

    registry.sampled("test_missing", "Unreadable here.", unreadable)
    assert 'test_gauge{worker="1"} 5.0' in registry.render(worker="1").splitlines()
    reading["value"] = 7.0
    other = registry.snapshot(worker="2")  # what another worker publishes
    reading["value"] = 9.0
    found = parse(registry.render(worker="1", others=[other]))
    assert found.types["test_gauge"] == "gauge"
    assert found.series("test_gauge", without=()) == {
        frozenset({("worker", "1")}): 9.0,
        frozenset({("worker", "2")}): 7.0,
    }
    assert found.series("test_missing") == {} and found.types["test_missing"] == "gauge"
    with pytest.raises(ValueError, match="_total"):
        registry.sampled("test_gauge_total", "A gauge misnamed.", lambda: [])
