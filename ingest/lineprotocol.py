"""Encode records as InfluxDB line protocol (the format every InfluxDB line accepts on /write).

Schema: measurement = equipment kind, tags site and device, fields = metrics, time in ms.
Events go to measurement `event` (tags site, kind, device, type), status changes to
`device_status`. Escaping follows the line-protocol reference: commas, equals signs
and spaces in tag keys, tag values and field keys; backslashes and double quotes inside
string field values.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from facility import DeviceRef, Event, Reading, Record

EVENT_MEASUREMENT = "event"
STATUS_MEASUREMENT = "device_status"

_KEY_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"'})


@lru_cache(maxsize=65536)
def escape_key(text: str) -> str:
    r"""Escape a tag key, tag value or field key.

    >>> escape_key("zone 3,a=b")
    'zone\\ 3\\,a\\=b'
    """
    # Cached: keys are a small set (sites, devices, metric names) seen millions of times.
    return text.translate(_KEY_ESCAPES)


def field_value(value: float | str) -> str:
    """Floats keep full precision (repr round-trips); text is quoted."""
    if isinstance(value, str):
        return '"' + value.translate(_STRING_ESCAPES) + '"'
    return repr(float(value))


def _fields(values: dict[str, float] | dict[str, float | str]) -> str:
    return ",".join(f"{escape_key(k)}={field_value(v)}" for k, v in values.items())


def _metric_fields(metrics: dict[str, float]) -> str:
    """The hot path: metrics are always floats, so skip field_value's type dispatch."""
    return ",".join([_field_prefix(k) + repr(v) for k, v in metrics.items()])


@lru_cache(maxsize=65536)
def _field_prefix(key: str) -> str:
    return escape_key(key) + "="


@lru_cache(maxsize=65536)
def _tags(source: DeviceRef) -> str:
    return f"site={escape_key(source.site)},device={escape_key(source.device)}"


def encode_record(record: Record) -> str:
    """One line (without newline) for one record."""
    src = record.source
    tags = _tags(src)
    if isinstance(record, Reading):
        return f"{src.kind.value},{tags} {_metric_fields(record.metrics)} {record.ts_ms}"
    if isinstance(record, Event):
        event_tags = f"{tags},kind={src.kind.value},type={escape_key(record.type)}"
        fields = _fields({"count": 1.0, **record.attributes})
        return f"{EVENT_MEASUREMENT},{event_tags} {fields} {record.ts_ms}"
    status_tags = f"{tags},kind={src.kind.value}"
    online = "true" if record.online else "false"
    return f"{STATUS_MEASUREMENT},{status_tags} online={online} {record.ts_ms}"


def encode_lines(records: Iterable[Record]) -> list[str]:
    """Lines for many records, in order."""
    return [encode_record(r) for r in records]
