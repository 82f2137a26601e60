"""A strict reader of Prometheus' text exposition format 0.0.4, for tests (no prometheus_client).

`parse` refuses any line that is not a HELP, TYPE or sample line, a sample of an undeclared family, a
duplicate sample, and a histogram whose buckets are not cumulative up to `le="+Inf"` == `_count`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
HELP_LINE = re.compile(rf"^# HELP ({NAME}) (.*)$")
TYPE_LINE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$")
SAMPLE_LINE = re.compile(rf"^({NAME})(?:\{{(.*)\}})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')
ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}

LabelSet = frozenset[tuple[str, str]]


class ExpositionError(AssertionError):
    """The text is not valid exposition format 0.0.4."""


def _unescape(value: str) -> str:
    return re.sub(r"\\.", lambda m: ESCAPES.get(m.group(0), m.group(0)), value)


def _labels(text: str | None, line: str) -> dict[str, str]:
    if not text:
        return {}
    out: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        match = LABEL.match(text, pos)
        if match is None:
            raise ExpositionError(f"bad labels in {line!r}")
        name, value = match.group(1), _unescape(match.group(2))
        if name in out:
            raise ExpositionError(f"label {name} twice in {line!r}")
        out[name] = value
        pos = match.end()
    return out


def _number(text: str, line: str) -> float:
    special = {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}
    if text in special:
        return special[text]
    try:
        return float(text)
    except ValueError:
        raise ExpositionError(f"bad value in {line!r}") from None


@dataclass
class Exposition:
    """The families (name → type, help) and samples ((name, labels) → value) of one scrape."""

    types: dict[str, str] = field(default_factory=dict)
    helps: dict[str, str] = field(default_factory=dict)
    samples: dict[tuple[str, LabelSet], float] = field(default_factory=dict)

    def series(self, name: str, *, without: tuple[str, ...] = ("worker",)) -> dict[LabelSet, float]:
        """Every sample named `name`, keyed by its labels less `without`."""
        return {
            frozenset((k, v) for k, v in labels if k not in without): value
            for (sample, labels), value in self.samples.items()
            if sample == name
        }

    def value(self, name: str, **labels: str) -> float:
        """The sample named `name` with exactly `labels` (besides `worker`); 0 when absent."""
        return self.series(name).get(frozenset(labels.items()), 0.0)


def _family_of(sample: str, types: dict[str, str]) -> str:
    if sample in types and types[sample] != "histogram":
        return sample
    for suffix in ("_bucket", "_sum", "_count"):
        base = sample.removesuffix(suffix)
        if base != sample and types.get(base) == "histogram":
            return base
    raise ExpositionError(f"sample {sample} of no declared family")


def _check_histograms(found: Exposition) -> None:
    for family, kind in found.types.items():
        if kind != "histogram":
            continue
        buckets: dict[LabelSet, list[tuple[float, float]]] = {}
        for (sample, labels), value in found.samples.items():
            if sample == f"{family}_bucket":
                le = dict(labels)["le"]
                rest = frozenset(kv for kv in labels if kv[0] != "le")
                buckets.setdefault(rest, []).append((_number(le, le), value))
        for labels, pairs in buckets.items():
            bounds = [b for b, _ in pairs]
            counts = [c for _, c in pairs]
            if bounds != sorted(bounds) or bounds[-1] != math.inf:
                raise ExpositionError(f"{family}{dict(labels)}: buckets not ending with +Inf: {bounds}")
            if counts != sorted(counts):
                raise ExpositionError(f"{family}{dict(labels)}: buckets not cumulative: {counts}")
            count = found.samples.get((f"{family}_count", labels))
            if count != counts[-1] or (f"{family}_sum", labels) not in found.samples:
                raise ExpositionError(f"{family}{dict(labels)}: _count {count} != +Inf bucket {counts[-1]}")


def parse(text: str) -> Exposition:
    """The scrape `text`, checked line by line (raises ExpositionError)."""
    if not text.endswith("\n"):
        raise ExpositionError("the text does not end with a newline")
    found = Exposition()
    for line in text[:-1].split("\n"):
        if match := HELP_LINE.match(line):
            found.helps[match.group(1)] = match.group(2)
        elif match := TYPE_LINE.match(line):
            name, kind = match.groups()
            if name in found.types:
                raise ExpositionError(f"TYPE of {name} twice")
            found.types[name] = kind
        elif match := SAMPLE_LINE.match(line):
            sample, label_text, value = match.groups()
            _family_of(sample, found.types)
            key = (sample, frozenset(_labels(label_text, line).items()))
            if key in found.samples:
                raise ExpositionError(f"duplicate sample {line!r}")
            found.samples[key] = _number(value, line)
        else:
            raise ExpositionError(f"not a 0.0.4 line: {line!r}")
    _check_histograms(found)
    return found
