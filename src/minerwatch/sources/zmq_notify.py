"""Block notifications from Bitcoin Core's ZMQ interface (``-zmqpubsequence``,
``-zmqpubhashblock``), for ``minerwatch watch``.

Core publishes multipart messages ``[topic, body, sequence]`` (doc/zmq.md):

- ``sequence``: body = 32-byte block hash (display order) + one label byte, ``C`` a block
  connected, ``D`` disconnected (``A``/``R`` are mempool events, followed by an 8-byte
  mempool sequence, and are ignored here);
- ``hashblock``: body = the 32-byte hash of the new tip (display order);
- ``sequence`` (the last part, both topics): a 4-byte little-endian counter per topic; a
  jump means messages were lost (ZMQ drops them under load), and is reported as a gap.

Connection changes come from the socket's monitor (``EVENT_CONNECTED``,
``EVENT_DISCONNECTED``): the watcher re-syncs after every (re)connect, since nothing
published while it was away is replayed. pyzmq is an optional extra
(``pip install 'minerwatch[live]'``).
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import Any

from minerwatch.errors import InputError

TOPICS = ("sequence", "hashblock")


@dataclass(frozen=True)
class Notification:
    """``kind``: "block" (a block connected: ``hash``), "disconnected_block" (a block
    disconnected by a reorg), "connected" / "disconnected" (the socket), "gap" (messages
    were lost: ``missed`` of them)."""

    kind: str
    hash: str | None = None
    missed: int = 0


def _zmq() -> Any:
    try:
        import zmq
    except ImportError:
        raise InputError(
            "pyzmq is not installed; ZMQ notifications are an optional extra: "
            "pip install 'minerwatch[live]' (or run watch without --zmq: it polls)"
        ) from None
    return zmq


def parse_message(parts: list[bytes]) -> tuple[str, Notification | None, int | None]:
    """(topic, notification or None for an ignored event, the message's sequence number)
    of one multipart message from Core."""
    if len(parts) != 3:
        raise ValueError(f"expected 3 message parts, got {len(parts)}")
    topic, body, seq = parts
    number = struct.unpack("<I", seq)[0] if len(seq) == 4 else None
    name = topic.decode("ascii", "replace")
    if name == "hashblock" and len(body) == 32:
        return name, Notification("block", body.hex()), number
    if name == "sequence" and len(body) >= 33:
        label = body[32:33]
        if label == b"C":
            return name, Notification("block", body[:32].hex()), number
        if label == b"D":
            return name, Notification("disconnected_block", body[:32].hex()), number
        return name, None, number
    return name, None, number


class ZmqNotifications:
    """A subscriber to one of Core's block topics at ``endpoint`` (``tcp://host:port``).

    :meth:`wait` returns the next :class:`Notification`, or None after ``timeout_s``
    seconds without one. The socket reconnects by itself (ZMQ); each reconnect is
    reported as "connected".
    """

    def __init__(self, endpoint: str, topic: str = "sequence") -> None:
        if topic not in TOPICS:
            raise InputError(f"ZMQ topic {topic!r}; expected one of {', '.join(TOPICS)}")
        zmq = _zmq()
        from zmq.utils.monitor import recv_monitor_message

        self._zmq = zmq
        self._recv_monitor = recv_monitor_message
        self.endpoint = endpoint
        self.topic = topic
        self._context = zmq.Context.instance()
        self._socket = self._context.socket(zmq.SUB)
        self._socket.setsockopt(zmq.SUBSCRIBE, topic.encode())
        self._socket.setsockopt(zmq.RCVHWM, 0)
        self._socket.setsockopt(zmq.TCP_KEEPALIVE, 1)
        self._monitor = self._socket.get_monitor_socket(
            zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED
        )
        try:
            self._socket.connect(endpoint)
        except zmq.ZMQError as exc:
            self.close()
            raise InputError(
                f"zmq {endpoint!r} is not an endpoint ZMQ can connect to ({exc.strerror}); "
                "expected the node's -zmqpubsequence or -zmqpubhashblock address, such as "
                "tcp://127.0.0.1:28332",
                parameter="zmq",
            ) from None
        self._poller = zmq.Poller()
        self._poller.register(self._socket, zmq.POLLIN)
        self._poller.register(self._monitor, zmq.POLLIN)
        self._last_seq: int | None = None
        self._pending: list[Notification] = []

    def wait(self, timeout_s: float) -> Notification | None:
        if self._pending:
            return self._pending.pop(0)
        ends = time.monotonic() + max(0.0, timeout_s)
        while True:
            note = self._next(max(0.0, ends - time.monotonic()))
            if note is not None or time.monotonic() >= ends:
                return note

    def _next(self, timeout_s: float) -> Notification | None:
        """One event within ``timeout_s``; None for a timeout or an ignored message (a
        mempool event of the ``sequence`` topic)."""
        zmq = self._zmq
        ready = dict(self._poller.poll(int(timeout_s * 1000)))
        if self._monitor in ready:
            event = self._recv_monitor(self._monitor)
            if event["event"] == zmq.EVENT_CONNECTED:
                self._last_seq = None
                return Notification("connected")
            return Notification("disconnected")
        if self._socket not in ready:
            return None
        try:
            _, note, number = parse_message(self._socket.recv_multipart())
        except ValueError:
            return None
        previous, self._last_seq = self._last_seq, number
        if number is not None and previous is not None:
            missed = (number - previous - 1) % 2**32
            if missed:
                if note is not None:
                    self._pending.append(note)
                return Notification("gap", missed=missed)
        return note

    def close(self) -> None:
        self._socket.disable_monitor()
        self._monitor.close(linger=0)
        self._socket.close(linger=0)
