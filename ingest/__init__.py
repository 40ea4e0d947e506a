"""MQTT telemetry into InfluxDB: decode, validate, batch, store or spool, dead-letter."""

from ingest.codec import Decoded, DecodePolicy, Reason, Rejection, decode_message, parse_topic
from ingest.deadletters import DeadLetter, DeadLetterStore
from ingest.influx import InfluxClient, InfluxRejected, InfluxUnavailable
from ingest.lineprotocol import encode_lines, encode_record
from ingest.metrics import IngestMetrics
from ingest.mqtt import MqttSubscriber, SessionOptions
from ingest.pipeline import AckToken, BatchLimits
from ingest.service import IngestOptions, IngestService

__all__ = [
    "AckToken",
    "BatchLimits",
    "DeadLetter",
    "DeadLetterStore",
    "DecodePolicy",
    "Decoded",
    "InfluxClient",
    "InfluxRejected",
    "InfluxUnavailable",
    "IngestMetrics",
    "IngestOptions",
    "IngestService",
    "MqttSubscriber",
    "Reason",
    "Rejection",
    "SessionOptions",
    "decode_message",
    "encode_lines",
    "encode_record",
    "parse_topic",
]
