"""The entrance: the `facmon` command line and the wiring that starts services (no logic)."""

__all__: list[str] = []
