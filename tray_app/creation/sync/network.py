"""Tells the queue when the network comes back: an address or a route appears (Linux).

A NAS over SSH or rclone, or an NFS share whose server was away, comes back
without any change of the mount table; a laptop's Wi-Fi or a VPN reconnecting
does add an address and routes. The kernel announces those on a netlink socket
(``RTM_NEWADDR``, ``RTM_NEWROUTE``), which the loop reads like any socket: no
thread, no timer. A reconnect comes as a burst of messages, and the routes
follow the address by a moment, so the queue is told once the burst has settled.

The queue listens only while a job waits for a NAS that was not reachable; the
idle tray holds no such socket. Where netlink is missing it does nothing (the
retry schedule still runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections.abc import Callable

from tray_app.loop_timer import LoopTimer

__all__ = ["NetworkWatcher"]

_log = logging.getLogger(__name__)

# <linux/rtnetlink.h>: the groups of address and route changes, and the messages
# that mean something appeared (not went away: that makes no NAS reachable).
_GROUPS = 0x10 | 0x40 | 0x100 | 0x400  # RTMGRP_IPV4_IFADDR, _IPV4_ROUTE, _IPV6_IFADDR, _ROUTE
_APPEARED = {20, 24}  # RTM_NEWADDR, RTM_NEWROUTE
_HEADER = struct.Struct("=IHHII")  # struct nlmsghdr: len, type, flags, seq, pid
#: How long a burst of changes may go quiet before the queue is told.
SETTLE_S = 2.0


class NetworkWatcher:
    def __init__(self, on_change: Callable[[], None], *, settle_s: float = SETTLE_S) -> None:
        self._on_change = on_change
        self._settle_s = settle_s
        self._socket: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: LoopTimer | None = None

    @property
    def watching(self) -> bool:
        return self._socket is not None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._socket is not None or not hasattr(socket, "AF_NETLINK"):
            return
        try:
            sock = socket.socket(
                socket.AF_NETLINK,
                socket.SOCK_RAW | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC,
                socket.NETLINK_ROUTE,
            )
            sock.bind((0, _GROUPS))
        except OSError as exc:
            _log.info("not watching the network: %s", exc)
            return
        self._socket, self._loop = sock, loop
        self._timer = LoopTimer(self._settled, loop)
        loop.add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        assert self._socket is not None and self._timer is not None
        appeared = False
        while True:
            try:
                data = self._socket.recv(65536)
            except BlockingIOError:
                break
            except OSError:  # ENOBUFS: more changes than the buffer held, some appeared
                appeared = True
                continue
            if not data:
                break
            appeared = appeared or _announces_appearance(data)
        if appeared:
            self._timer.start(self._settle_s)  # again and again during a burst

    def _settled(self) -> None:
        _log.info("the network changed (an address or a route appeared)")
        self._on_change()

    def stop(self) -> None:
        sock, self._socket = self._socket, None
        if sock is None:
            return
        if self._timer is not None:
            self._timer.cancel()
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(Exception):
                self._loop.remove_reader(sock.fileno())
        sock.close()


def _announces_appearance(data: bytes) -> bool:
    """Whether one datagram holds an RTM_NEWADDR or RTM_NEWROUTE message."""
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, kind, _flags, _seq, _pid = _HEADER.unpack_from(data, offset)
        if kind in _APPEARED:
            return True
        if length < _HEADER.size:
            break
        offset += (length + 3) & ~3
    return False
