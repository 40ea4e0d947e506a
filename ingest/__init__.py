"""MQTT telemetry into InfluxDB: decode, validate, batch, store or spool, dead-letter."""

from ingest.codec import Decoded, DecodePolicy, Reason, Rejection, decode_message, parse_topic
from ingest.deadletters import DeadLetter, DeadLetterStore
from ingest.extras import UncataloguedMetrics
from ingest.feed import OnRecords, record_subscriber
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
    "IngestMetrics",
    "IngestOptions",
    "IngestService",
    "MqttSubscriber",
    "OnRecords",
    "Reason",
    "Rejection",
    "SessionOptions",
    "UncataloguedMetrics",
    "decode_message",
    "encode_lines",
    "encode_record",
    "parse_topic",
    "record_subscriber",
]
