"""Notifications to people: plain messages delivered over a channel (a webhook over HTTP).

Imports `facility` only; the others hand it messages (maintenance's outbox, wired by facmon).
"""

from notifications.webhook import Message, Post, Webhook, payload, post_json

__all__ = ["Message", "Post", "Webhook", "payload", "post_json"]
