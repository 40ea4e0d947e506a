"""The FastAPI application; arrives with the work-order issue."""

__all__: list[str] = []
