"""A stand-in SMTP server on 127.0.0.1 (aiosmtpd): it keeps every envelope and every
login, and accepts the user ``miner`` with :data:`PASSWORD` (AUTH offered without TLS)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.standins.serving import free_port

USER = "miner"
PASSWORD = "pw-s3cret-!"


class Recorder:
    """An aiosmtpd handler that keeps every envelope."""

    def __init__(self) -> None:
        self.envelopes: list = []
        self.logins: list[tuple[str, bytes, bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        self.logins.append((mechanism, auth_data.login, auth_data.password))
        ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)  # the server answers 235 or 535


@contextmanager
def smtp_server() -> Iterator[tuple[int, Recorder]]:
    """An SMTP server on 127.0.0.1 for the block's duration: (port, recorder)."""
    from aiosmtpd.controller import Controller

    recorder = Recorder()
    port = free_port()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        authenticator=recorder.authenticate,
        auth_require_tls=False,
        ready_timeout=5,
    )
    controller.start()
    try:
        yield port, recorder
    finally:
        controller.stop()
