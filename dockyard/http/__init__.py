"""The thin ASGI layer: parse the request, ask the access policy, call one service, render."""
