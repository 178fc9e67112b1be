"""The two body formats a hook may ask for: Dockyard's own JSON, or Distribution's
notification envelope, so receivers written for Distribution work unchanged."""

from __future__ import annotations

import json

DOCKYARD = "dockyard"
DISTRIBUTION = "distribution"
FORMATS = (DOCKYARD, DISTRIBUTION)
DISTRIBUTION_TYPE = "application/vnd.docker.distribution.events.v1+json"
_ACTIONS = {"push": "push", "tag_delete": "delete", "manifest_delete": "delete"}
_ACTIONS |= {"repository_delete": "delete"}


def render(fmt: str, delivery_id: str, body: str) -> tuple[bytes, str]:
    """The bytes to send and their Content-Type."""
    if fmt != DISTRIBUTION:
        return body.encode(), "application/json"
    event = json.loads(body)
    target = {
        "mediaType": event.get("media_type"),
        "digest": event.get("digest"),
        "size": event.get("size"),
        "repository": event.get("repository"),
        "tag": event.get("tag"),
    }
    envelope = {
        "events": [
            {
                "id": delivery_id,
                "timestamp": event["time"],
                "action": _ACTIONS.get(event["event"], event["event"]),
                "target": {k: v for k, v in target.items() if v is not None},
                "actor": {"name": event.get("actor", {}).get("name")},
                "source": {"addr": "dockyard"},
            }
        ]
    }
    return json.dumps(envelope, separators=(",", ":")).encode(), DISTRIBUTION_TYPE
