"""A well-behaved client's latency while slow clients attack a real ``serve``; server memory.

Run: .venv/bin/python benchmarks/slow_clients.py [--seconds 30] [--server-root DIR]

1. Quiet: one client (aiohttp, keep-alive, the token) opens a project
   (POST /sessions) and reads it back (GET /sessions/{id}) ten times a second.
2. Attack: the same, while another process holds 200 WebSocket subscribers
   of /events that never read after the handshake and 100 clients sending
   their headers a byte every 0.5 s; each reconnects as soon as the server
   has cut it off.
Printed: p50/p99 of each phase, the server's RSS and the kernel memory in
the socket queues (``ss -tm``, receive + send) of the server's side and of
its clients' side (what the server made a non-reading client's kernel hold),
sampled every second, and /health's shed counts. ``--server-root`` runs ``serve``
from another checkout (e.g. the commit before shedding) for a baseline.
Everything talks to 127.0.0.1 only and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
WS_CLIENTS = 200
SLOW_HEADER_CLIENTS = 100


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# ---- the attack (a separate process, so it does not share the good client's loop) -------------
async def stalled_subscriber(port: int, token: str, connected: list[int]) -> None:
    """Subscribe to /events, then never read again; reconnect once the server has cut it off.

    A raw socket, so that nothing buffers frames in user space on this side:
    the kernel buffers fill and the server's writes stall at once.
    """
    loop = asyncio.get_running_loop()
    while True:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, ("127.0.0.1", port))
            key = base64.b64encode(os.urandom(16)).decode()
            await loop.sock_sendall(
                sock,
                (
                    f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    f"Authorization: Bearer {token}\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n"
                ).encode(),
            )
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = await loop.sock_recv(sock, 4096)
                if not chunk:
                    raise ConnectionResetError
                head += chunk
            assert head.startswith(b"HTTP/1.1 101"), head[:80]
        except (OSError, AssertionError):
            sock.close()
            await asyncio.sleep(1.0)
            continue
        connected[0] += 1
        try:
            while True:  # never read: only peek, every 2 s, whether the server let go
                await asyncio.sleep(2.0)
                try:
                    if sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                        break
                except BlockingIOError:
                    continue
        except OSError:
            pass  # reset by the server: shed
        finally:
            connected[0] -= 1
            sock.close()


async def slow_header_client(host: str, port: int, connected: list[int]) -> None:
    """Send a request line, then one header byte every 0.5 s, until the server cuts it off."""
    while True:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(1.0)
            continue
        connected[0] += 1
        closed = asyncio.ensure_future(reader.read(65536))  # the server's 408, then EOF
        try:
            writer.write(b"GET /api/v1/health HTTP/1.1\r\n")
            for byte in b"X-Slow: " + b"a" * 10_000:
                await asyncio.wait({closed}, timeout=0.5)
                if closed.done():
                    break
                writer.write(bytes([byte]))
        except OSError:
            pass
        finally:
            connected[0] -= 1
            closed.cancel()
            writer.close()
        await asyncio.sleep(0.2)


async def attack(url: str, token: str, seconds: float) -> None:
    port = int(url.rsplit(":", 1)[1])
    ws_up, slow_up = [0], [0]
    tasks = [asyncio.create_task(stalled_subscriber(port, token, ws_up)) for _ in range(WS_CLIENTS)]
    tasks += [
        asyncio.create_task(slow_header_client("127.0.0.1", port, slow_up))
        for _ in range(SLOW_HEADER_CLIENTS)
    ]
    deadline = time.monotonic() + 60
    # Counters of 300 tasks, polled at set-up only.
    while (ws_up[0] < WS_CLIENTS or slow_up[0] < SLOW_HEADER_CLIENTS) and (  # noqa: ASYNC110
        time.monotonic() < deadline
    ):
        await asyncio.sleep(0.1)
    print(json.dumps({"ready": True, "ws": ws_up[0], "slow": slow_up[0]}), flush=True)
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# ---- the measuring side ------------------------------------------------------------------------
def socket_queues(selector: str) -> float:
    """MiB in the receive and send queues of the TCP sockets ``ss`` selects."""
    out = subprocess.run(
        ["ss", "-tmnH", "state", "all", selector], capture_output=True, text=True, check=False
    ).stdout
    total = 0
    for match in re.finditer(r"skmem:\(r(\d+),rb\d+,t\d+,tb\d+,f\d+,w(\d+)", out):
        total += int(match.group(1)) + int(match.group(2))
    return total / 2**20


def server_memory(pid: int, port: int) -> tuple[float, float, float]:
    """RSS MiB of serve; kernel MiB queued on its sockets' side, and on its clients' side."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kib = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    server_side = socket_queues(f"( sport = :{port} )")
    return rss_kib / 1024, server_side, socket_queues(f"( dport = :{port} )")


async def good_client(url: str, token: str, seconds: float, tag: str) -> dict[str, list[float]]:
    """Create a project and read it back every 0.1 s; latencies in ms by operation."""
    latencies: dict[str, list[float]] = {"POST /sessions": [], "GET /sessions/{id}": []}
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=30)
    end = time.monotonic() + seconds
    index = 0
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as http:
        while time.monotonic() < end:
            index += 1
            body = {
                "kind": "project",
                "equipment_id": "DEMO",
                "project_name": f"Bench{tag}{index}",
                "operator": "bench",
            }
            started = time.perf_counter()
            async with http.post(f"{url}/api/v1/sessions", json=body) as response:
                handle = await response.json()
                assert response.status == 201, handle
            latencies["POST /sessions"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            async with http.get(f"{url}/api/v1/sessions/{handle['session_id']}") as response:
                await response.read()
                assert response.status == 200
            latencies["GET /sessions/{id}"].append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.1)
    return latencies


async def sample_memory(pid: int, port: int, samples: list[tuple[float, float, float]]) -> None:
    while True:
        samples.append(server_memory(pid, port))
        await asyncio.sleep(1.0)


def report(name: str, latencies: dict[str, list[float]]) -> dict[str, float]:
    p99s = {}
    for op, values in latencies.items():
        p50, p99 = statistics.median(values), percentile(values, 0.99)
        p99s[op] = p99
        print(f"  {name:<7} {op:<20} n={len(values):4d}  p50 {p50:7.1f} ms   p99 {p99:7.1f} ms")
    return p99s


async def measure(server_root: Path, seconds: float) -> None:
    home = tempfile.mkdtemp(prefix="exlab-bench-slow-")
    env = {**os.environ, "EXLAB_TRAY_HOME": home, "PYTHONPATH": str(server_root)}
    server = subprocess.Popen(  # noqa: ASYNC220 - set-up, before any timing
        [sys.executable, "-m", "tray_app", "serve"],
        cwd=server_root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    attacker: subprocess.Popen[str] | None = None
    try:
        assert server.stdout is not None
        server.stdout.readline()  # the ready line
        runtime = json.loads((Path(home) / "runtime" / "runtime.json").read_text())
        url, token, pid, port = runtime["url"], runtime["token"], server.pid, runtime["port"]
        await good_client(url, token, 3.0, "warm")  # render worker up, caches warm
        quiet_memory: list[tuple[float, float, float]] = []
        sampler = asyncio.create_task(sample_memory(pid, port, quiet_memory))
        quiet = await good_client(url, token, seconds, "quiet")
        sampler.cancel()

        attacker = subprocess.Popen(  # noqa: ASYNC220 - between the timed phases
            [sys.executable, __file__, "--attack", url, token, str(seconds + 30)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert attacker.stdout is not None
        ready = json.loads(await asyncio.to_thread(attacker.stdout.readline))
        attack_memory: list[tuple[float, float, float]] = []
        sampler = asyncio.create_task(sample_memory(pid, port, attack_memory))
        attacked = await good_client(url, token, seconds, "attack")
        sampler.cancel()
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{url}/api/v1/health") as response,
        ):
            health: dict[str, Any] = await response.json()
    finally:
        if attacker is not None:
            attacker.send_signal(signal.SIGTERM)
            attacker.wait(timeout=30)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    print(f"serve from {server_root}; load average {os.getloadavg()[0]:.1f}")
    print(
        f"attack: {ready['ws']} stalled WebSocket subscribers, {ready['slow']} slow-header clients"
    )
    quiet_p99 = report("quiet", quiet)
    attack_p99 = report("attack", attacked)
    for op, p99 in attack_p99.items():
        print(f"  p99 under attack / quiet, {op}: {p99 / quiet_p99[op]:.2f}x   (goal <= 2x)")
    for name, samples in (("quiet", quiet_memory), ("attack", attack_memory)):
        rss, server_side, client_side = ([s[i] for s in samples] for i in range(3))
        print(
            f"  {name:<7} server RSS {statistics.median(rss):6.1f} MiB median, {max(rss):6.1f} max"
        )
        print(
            f"  {name:<7} kernel socket queues, server side {statistics.median(server_side):6.2f}"
            f" MiB median {max(server_side):6.2f} max; clients' side"
            f" {statistics.median(client_side):6.2f} median {max(client_side):6.2f} max"
        )
    print(f"  /health shed: {health.get('shed', 'n/a')}")
    print(f"  /health connections: {health.get('connections', 'n/a')}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--attack":
        url, token, seconds = sys.argv[2], sys.argv[3], float(sys.argv[4])
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        asyncio.run(attack(url, token, seconds))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--server-root", type=Path, default=ROOT)
    args = parser.parse_args()
    asyncio.run(measure(args.server_root.resolve(), args.seconds))


if __name__ == "__main__":
    main()
