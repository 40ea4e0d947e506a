"""Web dashboard and Grafana provisioning; arrives with the dashboard issue."""

__all__: list[str] = []
