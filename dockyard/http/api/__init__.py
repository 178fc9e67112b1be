"""The management REST API (/api/v1): FastAPI for its OpenAPI schema, over dockyard.admin."""
