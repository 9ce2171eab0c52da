"""A well-behaved client's latency while slow clients attack a real ``serve``; server memory.

Run: .venv/bin/python benchmarks/slow_clients.py [--seconds 20] [--rounds 3] [--runs 3]
     [--pin] [--server-root DIR]

1. Quiet: one client (aiohttp, keep-alive, the token) opens a project
   (POST /sessions) and reads it back (GET /sessions/{id}) ten times a second.
2. Attack: the same, while another process (one asyncio loop, raw sockets)
   holds 200 WebSocket subscribers of /events that never read after the
   handshake and 100 clients sending their headers a byte every 0.5 s; each
   reconnects as soon as the server has cut it off. The attacker then exits
   and the next quiet window starts once the server has let go of it all.
Quiet and attack windows alternate ``--rounds`` times, so that the other
work on a shared machine (disk flushes above all: a POST waits for the
journal's fsync) falls on both phases alike, and each phase's p99 comes from
hundreds of requests rather than a handful.
Printed per run: p50/p99 of each phase, the server's RSS and the kernel memory
in the socket queues (``ss -tm``, receive + send) of the server's side and of
its clients' side (what the server made a non-reading client's kernel hold),
sampled every second, /health's shed counts, the load average, and the CPU
each process used in each phase (the server with its worker processes, the
attacker, this measuring process): the attacker shares the machine's cores
with the server, so its own cost is shown rather than assumed. After several
runs (a fresh ``serve`` each), the medians. ``--pin`` puts the attacker on
the last CPU and the server and this process on the others
(``os.sched_setaffinity``), so the attacker cannot take the server's core.
``--server-root`` runs ``serve`` from another checkout (e.g. the commit
before shedding) for a baseline. Everything talks to 127.0.0.1 only and
stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
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
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


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
def family(pid: int) -> list[int]:
    """``pid`` and its descendants (serve's render and plugin workers)."""
    pids, index = [pid], 0
    while index < len(pids):
        children = Path(f"/proc/{pids[index]}/task/{pids[index]}/children")
        with contextlib.suppress(OSError):  # gone meanwhile
            pids += [int(child) for child in children.read_text().split()]
        index += 1
    return pids


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each live pid (fields 14 and 15 of /proc/PID/stat)."""
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return used


class CpuMeter:
    """CPU a process family used over its start()-stop() windows, as a share of one core."""

    def __init__(self) -> None:
        self.pid = 0
        self._before: dict[int, float] = {}
        self._started = 0.0
        self._used = 0.0
        self._elapsed = 0.0

    def start(self, pid: int) -> None:
        self.pid = pid
        self._before = cpu_seconds(family(pid))
        self._started = time.monotonic()

    def stop(self) -> None:
        after = cpu_seconds(family(self.pid))
        # A worker that started meanwhile counts from zero; one that ended is not counted.
        self._used += sum(seconds - self._before.get(pid, 0.0) for pid, seconds in after.items())
        self._elapsed += time.monotonic() - self._started

    @property
    def percent(self) -> float:
        return 100 * self._used / self._elapsed if self._elapsed else 0.0


def pin(pids: list[int], cpus: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):  # a worker that has just gone
            os.sched_setaffinity(pid, cpus)


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
        # In a thread: two ``ss`` runs take tens of ms on a busy machine (more while the
        # attack's sockets are listed), and on this loop they would delay the measured client.
        samples.append(await asyncio.to_thread(server_memory, pid, port))
        await asyncio.sleep(1.0)


def report(name: str, latencies: dict[str, list[float]]) -> dict[str, tuple[float, float]]:
    figures = {}
    for op, values in latencies.items():
        p50, p99 = statistics.median(values), percentile(values, 0.99)
        figures[op] = (p50, p99)
        print(f"  {name:<7} {op:<20} n={len(values):4d}  p50 {p50:7.1f} ms   p99 {p99:7.1f} ms")
    return figures


class Phase:
    """What one phase (quiet, or attack) collected over its windows."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.latencies: dict[str, list[float]] = {"POST /sessions": [], "GET /sessions/{id}": []}
        self.memory: list[tuple[float, float, float]] = []
        self.loads: list[float] = []
        self.server_cpu, self.own_cpu, self.attacker_cpu = CpuMeter(), CpuMeter(), CpuMeter()

    async def window(
        self, url: str, token: str, seconds: float, server: int, port: int, tag: str
    ) -> None:
        sampler = asyncio.create_task(sample_memory(server, port, self.memory))
        self.loads.append(os.getloadavg()[0])
        self.server_cpu.start(server)
        self.own_cpu.start(os.getpid())
        measured = await good_client(url, token, seconds, tag)
        self.server_cpu.stop()
        self.own_cpu.stop()
        self.loads.append(os.getloadavg()[0])
        sampler.cancel()
        for op, values in measured.items():
            self.latencies[op] += values


async def attackers_gone(url: str) -> None:
    """Until the server has let go of the attack (only the measuring client's connection)."""
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            async with http.get(f"{url}/api/v1/health") as response:
                health = await response.json()
            if health["connections"]["open"] <= 2 and health["components"]["event_sockets"] == 0:
                return
            await asyncio.sleep(0.1)
    raise RuntimeError("the server still holds the attack's connections after 30 s")


Latencies = dict[str, list[float]]


async def measure(
    server_root: Path, seconds: float, rounds: int, pinned: bool
) -> tuple[dict[str, float], dict[str, Latencies]]:
    """One run against a fresh ``serve``: ``rounds`` of a quiet window then an attack window."""
    home = tempfile.mkdtemp(prefix="exlab-bench-slow-")
    env = {**os.environ, "EXLAB_TRAY_HOME": home, "PYTHONPATH": str(server_root)}
    cpus = sorted(os.sched_getaffinity(0))
    server_cpus, attacker_cpus = set(cpus[:-1]) or set(cpus), {cpus[-1]}
    if pinned:
        os.sched_setaffinity(0, server_cpus)  # serve inherits it, and its workers
    server = subprocess.Popen(  # noqa: ASYNC220 - set-up, before any timing
        [sys.executable, "-m", "tray_app", "serve"],
        cwd=server_root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    attacker: subprocess.Popen[str] | None = None
    quiet, attack = Phase("quiet"), Phase("attack")
    readies = []
    try:
        assert server.stdout is not None
        server.stdout.readline()  # the ready line
        runtime = json.loads((Path(home) / "runtime" / "runtime.json").read_text())
        url, token, pid, port = runtime["url"], runtime["token"], server.pid, runtime["port"]
        await good_client(url, token, 3.0, "warm")  # render worker up, caches warm
        for index in range(rounds):
            await quiet.window(url, token, seconds, pid, port, f"quiet{index}x")
            attacker = subprocess.Popen(  # noqa: ASYNC220 - between the timed windows
                [sys.executable, __file__, "--attack", url, token, str(seconds + 30)],
                stdout=subprocess.PIPE,
                text=True,
            )
            if pinned:
                pin([attacker.pid], attacker_cpus)
            assert attacker.stdout is not None
            readies.append(json.loads(await asyncio.to_thread(attacker.stdout.readline)))
            attack.attacker_cpu.start(attacker.pid)
            await attack.window(url, token, seconds, pid, port, f"attack{index}x")
            attack.attacker_cpu.stop()
            if index == rounds - 1:
                async with (
                    aiohttp.ClientSession() as http,
                    http.get(f"{url}/api/v1/health") as response,
                ):
                    health: dict[str, Any] = await response.json()
            attacker.send_signal(signal.SIGTERM)
            await asyncio.to_thread(attacker.wait, 30)
            attacker = None
            await attackers_gone(url)
    finally:
        if attacker is not None:
            attacker.send_signal(signal.SIGTERM)
            attacker.wait(timeout=30)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        if pinned:
            os.sched_setaffinity(0, set(cpus))

    where = f"server and client on CPU {sorted(server_cpus)}, attacker on {sorted(attacker_cpus)}"
    print(
        f"serve from {server_root}; {where if pinned else 'not pinned'};"
        f" {rounds} x ({seconds:g} s quiet, {seconds:g} s attack)"
    )
    for phase in (quiet, attack):
        loads = " ".join(f"{value:.1f}" for value in phase.loads)
        print(f"  {phase.name:<7} load average (1 min) at each window's start and end: {loads}")
    ws, slow = min(r["ws"] for r in readies), min(r["slow"] for r in readies)
    print(f"attack: {ws} stalled WebSocket subscribers, {slow} slow-header clients (fewest ready)")
    figures: dict[str, float] = {}
    quiet_figures = report("quiet", quiet.latencies)
    attack_figures = report("attack", attack.latencies)
    for op, (p50, p99) in attack_figures.items():
        ratio = p99 / quiet_figures[op][1]
        figures[f"quiet {op} p50"], figures[f"quiet {op} p99"] = quiet_figures[op]
        figures[f"attack {op} p50"], figures[f"attack {op} p99"] = p50, p99
        figures[f"p99 attack / quiet, {op}"] = ratio
        print(f"  p99 under attack / quiet, {op}: {ratio:.2f}x   (goal <= 2x)")
    for phase in (quiet, attack):
        rss, server_side, client_side = ([s[i] for s in phase.memory] for i in range(3))
        name = phase.name
        figures[f"{name} server RSS MiB"] = statistics.median(rss)
        figures[f"{name} server-side socket queues MiB"] = statistics.median(server_side)
        figures[f"{name} clients' socket queues MiB"] = statistics.median(client_side)
        print(
            f"  {name:<7} server RSS {statistics.median(rss):6.1f} MiB median, {max(rss):6.1f} max"
        )
        print(
            f"  {name:<7} kernel socket queues, server side {statistics.median(server_side):6.2f}"
            f" MiB median {max(server_side):6.2f} max; clients' side"
            f" {statistics.median(client_side):6.2f} median {max(client_side):6.2f} max"
        )
    cpu = {
        "server quiet": quiet.server_cpu.percent,
        "server attack": attack.server_cpu.percent,
        "attacker": attack.attacker_cpu.percent,
        "measuring quiet": quiet.own_cpu.percent,
        "measuring attack": attack.own_cpu.percent,
    }
    print(
        "  CPU, % of one core: server (with its workers) "
        f"{cpu['server quiet']:.0f} quiet / {cpu['server attack']:.0f} attack; attacker"
        f" {cpu['attacker']:.0f}; measuring client {cpu['measuring quiet']:.0f} quiet /"
        f" {cpu['measuring attack']:.0f} attack"
    )
    figures.update({f"CPU % {name}": value for name, value in cpu.items()})
    print(f"  /health shed (whole run): {health.get('shed', 'n/a')}")
    return figures, {"quiet": quiet.latencies, "attack": attack.latencies}


def summary(runs: list[dict[str, float]], pooled: dict[str, Latencies]) -> None:
    print(f"== median of {len(runs)} runs (each a fresh serve) ==")
    for name in runs[0]:
        values = [run[name] for run in runs]
        spread = ", ".join(f"{value:.2f}" for value in values)
        print(f"  {name:<44} {statistics.median(values):8.2f}   (runs: {spread})")
    print(f"== every request of the {len(runs)} runs together ==")
    quiet_figures = report("quiet", pooled["quiet"])
    for op, (_p50, p99) in report("attack", pooled["attack"]).items():
        print(f"  p99 under attack / quiet, {op}: {p99 / quiet_figures[op][1]:.2f}x")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--attack":
        url, token, seconds = sys.argv[2], sys.argv[3], float(sys.argv[4])
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        asyncio.run(attack(url, token, seconds))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="each window")
    parser.add_argument("--rounds", type=int, default=3, help="quiet/attack pairs per run")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--pin", action="store_true", help="attacker on its own CPU")
    parser.add_argument("--server-root", type=Path, default=ROOT)
    args = parser.parse_args()
    runs = []
    pooled: dict[str, Latencies] = {
        phase: {"POST /sessions": [], "GET /sessions/{id}": []} for phase in ("quiet", "attack")
    }
    for index in range(args.runs):
        print(f"== run {index + 1} of {args.runs} ==", flush=True)
        figures, latencies = asyncio.run(
            measure(args.server_root.resolve(), args.seconds, args.rounds, args.pin)
        )
        runs.append(figures)
        for phase, by_op in latencies.items():
            for op, values in by_op.items():
                pooled[phase][op] += values
    if len(runs) > 1:
        summary(runs, pooled)


if __name__ == "__main__":
    main()
