"""The metrics registry and its text exposition (format 0.0.4)."""

from __future__ import annotations

import math
import os
import threading

import pytest

from autoliq.service import metrics
from autoliq.service.metrics import Registry
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
        if after.samples[key] != before.samples.get(key, 0.0) and not key[0].endswith("_sum")
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
