"""Prometheus metrics of the workers (deliveries, the stats roll-up), served on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

ENQUEUED = Counter("hub_deliveries_enqueued_total", "Deliveries handed to the broker")
DELIVERED = Counter("hub_deliveries_delivered_total", "Deliveries that reached their target")
FAILED = Counter("hub_deliveries_failed_total", "Deliveries that failed for good")
RETRIED = Counter("hub_deliveries_retried_total", "Delivery attempts that will be retried")
DELIVERY_LATENCY = Histogram(
    "hub_delivery_attempt_seconds",
    "Duration of successful delivery attempts",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ROLLED_UP = Counter("hub_stats_rolled_up_total", "Actions summed into the dashboard's roll-up")
