"""watch: follows the tip on real ZMQ notifications (a pyzmq publisher on 127.0.0.1 sending
Core's message shapes), re-syncs after a reconnect, and polls without notifications."""

from __future__ import annotations

import struct
import threading
import time

import pytest
import zmq

from minerwatch.ingest.watch import watch
from minerwatch.sources.zmq_notify import ZmqNotifications, parse_message
from minerwatch.store import open_store
from test_chain_sync import MemoryChain


def _message(topic: str, block_hash: str, seq: int, label: bytes = b"C") -> list[bytes]:
    body = bytes.fromhex(block_hash)
    if topic == "sequence":
        body += label
    return [topic.encode(), body, struct.pack("<I", seq)]


def _watch_beside(beside, db, chain, notes, on_tip, should_stop) -> None:
    """``watch`` the in-memory chain on ZMQ ``notes`` while ``beside`` runs in a thread (the
    miner, the node going away), until ``should_stop``; the subscriber closed after."""
    thread = threading.Thread(target=beside, daemon=True)
    thread.start()
    try:
        watch(
            db, chain, on_tip=on_tip, notifications=notes, should_stop=should_stop, check_pow=False
        )
    finally:
        thread.join(5)
        notes.close()


def test_parse_message_reads_cores_shapes():
    h = "00" * 31 + "ff"
    assert parse_message(_message("hashblock", h, 7))[1:] == (
        parse_message(_message("sequence", h, 7))[1],
        7,
    )
    topic, note, seq = parse_message(_message("sequence", h, 9, b"D"))
    assert (topic, note.kind, note.hash, seq) == ("sequence", "disconnected_block", h, 9)
    mempool = [b"sequence", bytes(32) + b"A" + struct.pack("<Q", 5), struct.pack("<I", 10)]
    assert parse_message(mempool)[1] is None
    with pytest.raises(ValueError):
        parse_message([b"hashblock", bytes(32)])


@pytest.mark.parametrize("topic", ["sequence", "hashblock"])
def test_watch_syncs_each_notified_block_at_once(tmp_path, topic):
    db = tmp_path / "w.duckdb"
    chain = MemoryChain(50)
    context = zmq.Context.instance()
    publisher = context.socket(zmq.PUB)
    port = publisher.bind_to_random_port("tcp://127.0.0.1")
    notes = ZmqNotifications(f"tcp://127.0.0.1:{port}", topic)
    changes = []
    stop = threading.Event()
    deadline = time.monotonic() + 30

    def on_tip(change, store):
        changes.append(change)
        if change.new_height == 52:
            stop.set()

    def miner():
        time.sleep(0.5)  # after the subscriber connected and the first sync
        for seq in range(3):
            chain.extend(1)
            publisher.send_multipart(_message(topic, chain.hashes[-1], seq))
            time.sleep(0.3)

    try:
        _watch_beside(
            miner, db, chain, notes, on_tip, lambda: stop.is_set() or time.monotonic() > deadline
        )
    finally:
        publisher.close(linger=0)
    assert [c.reason for c in changes][0] == "start"
    assert changes[-1].new_height == 52
    assert all(c.reason in ("block", "connected") for c in changes[1:])
    # woken by the notification, not by the 60 s fallback poll (the latency itself is
    # measured in bench/, not here)
    assert all(c.reason != "poll" for c in changes)
    with open_store(db, read_only=True) as store:
        assert store.chain_state("node").tip_hash == chain.hashes[-1]


def test_watch_polls_without_notifications(tmp_path):
    db = tmp_path / "p.duckdb"
    chain = MemoryChain(30)
    changes = []
    deadline = time.monotonic() + 20

    def on_tip(change, store):
        changes.append(change)
        if len(changes) == 1:
            chain.extend(2)

    watch(
        db,
        chain,
        on_tip=on_tip,
        poll_s=0.2,
        should_stop=lambda: len(changes) >= 2 or time.monotonic() > deadline,
        check_pow=False,
    )
    assert [(c.reason, c.old_height, c.new_height) for c in changes] == [
        ("start", None, 29),
        ("poll", 29, 31),
    ]


def test_watch_resyncs_after_the_node_reconnects(tmp_path):
    db = tmp_path / "r.duckdb"
    chain = MemoryChain(20)
    context = zmq.Context.instance()
    publisher = context.socket(zmq.PUB)
    port = publisher.bind_to_random_port("tcp://127.0.0.1")
    endpoint = f"tcp://127.0.0.1:{port}"
    notes = ZmqNotifications(endpoint, "hashblock")
    changes = []
    deadline = time.monotonic() + 30
    started = threading.Event()

    def on_tip(change, store):
        changes.append(change)
        started.set()

    def node_restarts():
        nonlocal publisher
        started.wait(20)  # after the first sync,
        time.sleep(1.0)  # and the sync on the first connect
        publisher.close(linger=0)  # the node goes away; a block comes meanwhile
        chain.extend(1)
        time.sleep(0.5)
        publisher = context.socket(zmq.PUB)
        publisher.bind(endpoint)  # back: nothing is replayed, the reconnect must sync

    try:
        _watch_beside(
            node_restarts,
            db,
            chain,
            notes,
            on_tip,
            lambda: (changes and changes[-1].new_height == 20) or time.monotonic() > deadline,
        )
    finally:
        publisher.close(linger=0)
    assert [(c.reason, c.new_height) for c in changes] == [("start", 19), ("connected", 20)]
