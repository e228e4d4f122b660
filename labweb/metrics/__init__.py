"""`/metrics`: the dashboard's and the rigs' figures in Prometheus' text format (prometheus_client)."""
