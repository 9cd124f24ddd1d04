"""The id of the request being served, readable anywhere below the HTTP edge.

The middleware sets these; services read them to stamp the change log, so they live on the ground
floor, where domain code may import them without reaching up into the HTTP edge."""

from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
client_request_id_var: ContextVar[str] = ContextVar("client_request_id", default="-")


def current_request_id() -> str | None:
    value = request_id_var.get()
    return None if value == "-" else value


def current_client_request_id() -> str | None:
    value = client_request_id_var.get()
    return None if value == "-" else value
