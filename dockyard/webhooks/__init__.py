"""Webhooks: events written to an outbox in the change's own transaction, then signed and
sent by a job. No web framework here; the HTTP client is httpx."""
