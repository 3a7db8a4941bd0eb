"""Prometheus metrics: request counts and latencies (a pure ASGI middleware, cheap per request),
and indexer/database gauges collected at scrape time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

ASGIApp = Callable[..., Any]


class Metrics:
    """One registry per app (tests create many apps in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "crowdtrain_api_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "crowdtrain_api_request_seconds",
            "HTTP request latency by route template.",
            ["route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
        )
        self.uploads = Counter(
            "crowdtrain_api_blob_uploads",
            "Blob uploads by outcome.",
            ["outcome"],
            registry=self.registry,
        )

    def add_gauges(self, collect: Callable[[], dict[str, float]]) -> None:
        """Register gauges whose values ``collect`` returns at scrape time."""
        self.registry.register(_GaugeCollector(collect))


class _GaugeCollector(Collector):
    def __init__(self, collect: Callable[[], dict[str, float]]) -> None:
        self._collect = collect

    def collect(self) -> Iterable[Metric]:
        for name, value in self._collect().items():
            family = GaugeMetricFamily(name, name.replace("_", " "))
            family.add_metric([], value)
            yield family


class MetricsMiddleware:
    """Counts every response by its route template (never the raw path: bounded label values)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def counting_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], template, str(status[0])).inc()
            self.metrics.latency.labels(template).observe(time.perf_counter() - start)
