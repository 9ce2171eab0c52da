"""A real OpenSSH server on 127.0.0.1 for the sync tests, with throwaway keys.

Started by the test fixture itself: its own config, host key and client key
in a temp folder, a free port, key authentication only. Logging in as root
needs the tests to run as root (as CI does); an unprivileged account,
``exlab-sync-test``, is made once for the permission tests.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
UNPRIVILEGED = "exlab-sync-test"


@dataclass
class Sshd:
    port: int
    identity: Path
    known_hosts: Path
    folder: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_unprivileged_user(server: Sshd) -> str:
    """The unprivileged account (made once), allowed to log in with the server's client key."""
    try:
        user = pwd.getpwnam(UNPRIVILEGED)
    except KeyError:
        # "*" (no password, not locked): sshd without PAM refuses a locked account.
        subprocess.run(
            ["useradd", "--create-home", "--shell", "/bin/sh", "--password", "*", UNPRIVILEGED],
            check=True,
            capture_output=True,
        )
        user = pwd.getpwnam(UNPRIVILEGED)
    # Its sshd child reads the key as that user, so it lives in the user's own home.
    ssh_dir = Path(user.pw_dir) / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    keys = ssh_dir / "authorized_keys"
    keys.write_text(server.identity.with_suffix(".pub").read_text())
    for path in (ssh_dir, keys):
        os.chown(path, user.pw_uid, user.pw_gid)
    return UNPRIVILEGED


def _keygen(path: Path, kind: str = "ed25519") -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(path)], check=True, capture_output=True
    )


def start_sshd(folder: Path, *, also_as: str | None = None) -> Sshd:
    """A throwaway sshd on 127.0.0.1; ``also_as`` another address it answers on (on every
    address then, logins from elsewhere refused), one that may come up later."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o755)
    host_key = folder / "host_ed25519"
    identity = folder / "client_ed25519"
    _keygen(host_key)
    _keygen(identity)
    authorized = folder / "authorized_keys"
    shutil.copy(identity.with_suffix(".pub"), authorized)
    os.chmod(authorized, 0o644)
    port = free_port()
    config = folder / "sshd_config"
    listen = "ListenAddress 127.0.0.1\n"
    if also_as is not None:
        listen = f"ListenAddress 0.0.0.0\nAllowUsers *@127.0.0.1 *@{also_as}\n"
    config.write_text(
        f"Port {port}\n"
        f"{listen}"
        f"HostKey {host_key}\n"
        f"PidFile {folder / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {authorized} .ssh/authorized_keys\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "PubkeyAuthentication yes\n"
        "PermitRootLogin prohibit-password\n"
        "StrictModes no\n"
        "UsePAM no\n"
        "Subsystem sftp internal-sftp\n"
        "LogLevel ERROR\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation folder
    process = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 30
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        if process.poll() is not None or time.monotonic() > deadline:
            err = process.stderr.read().decode() if process.stderr else ""
            process.kill()
            raise RuntimeError(f"sshd did not start: {err}")
        time.sleep(0.05)
    known_hosts = folder / "known_hosts"
    public = host_key.with_suffix(".pub").read_text().split()
    names = ["127.0.0.1"] if also_as is None else ["127.0.0.1", also_as]
    known_hosts.write_text("".join(f"[{n}]:{port} {public[0]} {public[1]}\n" for n in names))
    return Sshd(port, identity, known_hosts, folder, process)
