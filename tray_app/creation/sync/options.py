"""How to reach the NAS: the parts of the settings that every transport reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["SyncOptions"]


@dataclass(frozen=True)
class SyncOptions:
    #: KiB/s for one copy, so an acquiring instrument keeps its bandwidth; None: no limit.
    bwlimit_kib: int | None = None
    ssh_port: int | None = None
    ssh_identity: Path | None = None
    ssh_known_hosts: Path | None = None
    rclone_config: Path | None = None
    #: Where ssh keeps its shared connection per NAS (one login serves the probe, the
    #: copy, the check and the rename of an attempt); None: a new login each time.
    ssh_control_dir: Path | None = None
    #: Seconds without progress before rsync or rclone gives up (a hung NAS).
    io_timeout_s: int = 120
    #: Seconds for a reachability probe.
    probe_timeout_s: float = 30.0

    def ssh_args(self) -> list[str]:
        """ssh without prompts: key authentication only, a known host key required."""
        args = [
            "ssh",
            "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=15",
            "-o", "ServerAliveInterval=15",
            "-o", "ServerAliveCountMax=4",
        ]  # fmt: skip
        if self.ssh_port is not None:
            args += ["-p", str(self.ssh_port)]
        if self.ssh_identity is not None:
            args += ["-i", str(self.ssh_identity), "-o", "IdentitiesOnly=yes"]
        if self.ssh_known_hosts is not None:
            args += ["-o", f"UserKnownHostsFile={self.ssh_known_hosts}"]
        if self.ssh_control_dir is not None:
            args += [
                "-o", "ControlMaster=auto",
                "-o", f"ControlPath={self.ssh_control_dir}/ssh-%C",
                "-o", "ControlPersist=60",
            ]  # fmt: skip
        return args
