"""Prometheus metrics of one instance (`/metrics`)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from switchboard.domain.calls import CallStatus


class CounterByLabel:
    """A counter of one label whose children are looked up once per label value: the
    library's `.labels()` validates and copies its arguments on every call, which costs more
    than the increment on a per-frame path."""

    __slots__ = ("_children", "_counter")

    def __init__(self, counter: Counter) -> None:
        self._counter = counter
        self._children: dict[str, Counter] = {}

    def inc(self, label: str, amount: float = 1) -> None:
        child = self._children.get(label)
        if child is None:
            child = self._children[label] = self._counter.labels(label)
        child.inc(amount)


SETUP_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.connections = Gauge(
            "switchboard_connections_open",
            "WebSocket connections open on this instance",
            registry=self.registry,
        )
        self.active_calls = Gauge(
            "switchboard_calls_active",
            "Calls ringing or in progress (all instances), by status",
            ["status"],
            registry=self.registry,
        )
        self.call_changes = Counter(
            "switchboard_call_status_changes",
            "Committed call status changes published by this instance, by new status",
            ["status"],
            registry=self.registry,
        )
        self.events_published = Counter(
            "switchboard_events_published",
            "Envelopes this instance published on the bus, by frame type",
            ["type"],
            registry=self.registry,
        )
        self.events_delivered = Counter(
            "switchboard_events_delivered",
            "Frames this instance handed to its connections, by frame type",
            ["type"],
            registry=self.registry,
        )
        self.published = CounterByLabel(self.events_published)
        self.delivered = CounterByLabel(self.events_delivered)
        self.call_setup = Histogram(
            "switchboard_call_setup_seconds",
            "From initiate to call.incoming delivered to a receiver's connection",
            buckets=SETUP_BUCKETS,
            registry=self.registry,
        )

        for status in CallStatus:  # every series exists from the start, at zero
            self.call_changes.labels(status.value)

    def track_connections(self, count: Callable[[], int]) -> None:
        self.connections.set_function(lambda: float(count()))

    def render(self) -> bytes:
        return generate_latest(self.registry)
