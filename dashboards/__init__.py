"""The web dashboard (web/: HTML, CSS, JavaScript, vendored uPlot; the API serves it at
/dashboard/) and Grafana's dashboards and provisioning (grafana/). Assets only: no Python API."""

__all__: list[str] = []
