"""Operating the bot: health and readiness probes, Prometheus metrics, event-loop lag."""
