"""Per-device MQTT accounts for a Mosquitto broker: its password file and ACL.

`provision` gives each device its own username and a new random password, `revoke` removes
devices, `list_accounts` shows the accounts and their topics. All files live in
``<FACMON_STATE_DIR>/mosquitto/``, the directory `facmon up` gives its broker:

- ``passwd``: Mosquitto's password file (mode 0600);
- ``acl``: Mosquitto's ACL file, regenerated from ``passwd`` on every change (mode 0600);
- ``platform-passwd``: the platform account's entry of ``passwd`` alone (mode 0600), for the
  broker's platform listener, where devices cannot log in (see localservers.Mosquitto);
- ``service.json``: the platform account's username and password (mode 0600), created on
  first use and read through `service_credentials` by the platform's own services;
- ``mosquitto-<port>.pid``: written by a broker that localservers started with this
  directory as its ``auth_dir``; such brokers get SIGHUP after every change and reload both
  files without a restart.

Changes are made under a lock (two runs at once cannot lose each other's devices) and each file
is replaced atomically, so a broker never reads half a file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from facility import (
    PLATFORM_USERNAME,
    Access,
    DeviceRef,
    account_grants,
    device_topics,
    ensure_password,
    hash_password,
    new_password,
    password_file_users,
    password_hash_of,
    render_acl,
    username_for,
    with_passwords,
    without_users,
    write_atomically,
)

_SECRET_MODE = 0o600


@dataclass(frozen=True)
class DeviceCredentials:
    """A device's new MQTT username and password: shown once, never stored in clear."""

    device: DeviceRef
    username: str
    password: str

    def as_json(self) -> str:
        """One JSON line for the operator or a provisioning script."""
        return json.dumps(
            {
                "site": self.device.site,
                "kind": self.device.kind.value,
                "device": self.device.device,
                "username": self.username,
                "password": self.password,
                "topics": list(device_topics(self.device)),
            }
        )


def auth_dir(state_dir: Path) -> Path:
    """Where the broker's password file, ACL and the platform's credentials live."""
    return Path(state_dir) / "mosquitto"


def service_credentials(state_dir: Path) -> tuple[str, str] | None:
    """The platform account's (username, password), or None before any device is provisioned
    (the broker is then anonymous, see localservers.Mosquitto)."""
    path = auth_dir(state_dir) / "service.json"
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        return str(stored["username"]), str(stored["password"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} should hold a username and password: {error!r}") from None


def provision(state_dir: Path, devices: Sequence[DeviceRef]) -> list[DeviceCredentials]:
    """Give each device a new password (a provisioned device's old one stops working) and
    write the password file and ACL. The broker is not told: call `reload_brokers`."""
    issued = [DeviceCredentials(ref, username_for(ref), new_password()) for ref in devices]
    hashes = {entry.username: hash_password(entry.password) for entry in issued}
    _change_accounts(state_dir, lambda passwd: with_passwords(passwd, hashes))
    return issued


def revoke(state_dir: Path, devices: Sequence[DeviceRef]) -> list[str]:
    """Remove the devices' accounts; return the usernames that existed (and are now gone)."""
    usernames = [username_for(ref) for ref in devices]
    removed: list[str] = []

    def change(passwd: str) -> str:
        present = set(password_file_users(passwd))
        removed.extend(name for name in usernames if name in present)
        return without_users(passwd, usernames)

    _change_accounts(state_dir, change)
    return removed


def list_accounts(state_dir: Path) -> list[dict[str, object]]:
    """Every account in the password file with the topics it may publish and subscribe to."""
    try:
        passwd = (auth_dir(state_dir) / "passwd").read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    accounts: list[dict[str, object]] = []
    for username in password_file_users(passwd):
        grants = account_grants(username)
        accounts.append(
            {
                "username": username,
                "publish": [g.topic for g in grants if g.access != Access.READ],
                "subscribe": [g.topic for g in grants if g.access != Access.WRITE],
            }
        )
    return accounts


def reload_brokers(state_dir: Path) -> list[int]:
    """Send SIGHUP to every running broker that facmon started with these files; Mosquitto 2.0
    then reloads the password file and ACL, and drops connected clients whose password no
    longer matches. Returns the process ids signalled."""
    signalled: list[int] = []
    # The pid file name is localservers's: mosquitto-<port>.pid.
    for pid_file in sorted(auth_dir(state_dir).glob("mosquitto-*.pid")):
        pid = _running_mosquitto(pid_file)
        if pid is None:
            continue
        with contextlib.suppress(ProcessLookupError):  # it has just exited: nothing to reload
            os.kill(pid, signal.SIGHUP)
            signalled.append(pid)
    return signalled


def _change_accounts(state_dir: Path, change: Callable[[str], str]) -> None:
    """Apply ``change`` to the password file, with the platform account in it, and rewrite
    the ACL to match; all under the lock."""
    directory = auth_dir(state_dir)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _locked(directory / ".lock"):
        passwd_path = directory / "passwd"
        try:
            passwd = passwd_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            passwd = ""
        passwd = change(_with_platform_account(state_dir, passwd))
        # ACL first: an account appears in the password file only once its limits exist.
        _write_secret(directory / "acl", render_acl(password_file_users(passwd)))
        _write_secret(directory / "platform-passwd", _platform_entry(passwd))
        _write_secret(passwd_path, passwd)


def refresh_accounts(state_dir: Path) -> None:
    """Rewrite the ACL and ``platform-passwd`` from the password file, as a change would (for
    files written by an older facmon or by hand); nothing at all before any provisioning."""
    if (auth_dir(state_dir) / "passwd").exists():
        _change_accounts(state_dir, lambda passwd: passwd)


def _with_platform_account(state_dir: Path, passwd: str) -> str:
    """The password file admitting the platform account, created (and stored) on first use."""
    stored = service_credentials(state_dir)
    if stored is None:
        stored = (PLATFORM_USERNAME, new_password())
        payload = json.dumps({"username": stored[0], "password": stored[1]}, indent=2)
        _write_secret(auth_dir(state_dir) / "service.json", payload + "\n")
    return ensure_password(passwd, *stored)


def _platform_entry(passwd: str) -> str:
    """A password file holding only the platform account's entry of ``passwd``."""
    hashed = password_hash_of(passwd, PLATFORM_USERNAME)
    return "" if hashed is None else with_passwords("", {PLATFORM_USERNAME: hashed})


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        yield


def _write_secret(path: Path, text: str) -> None:
    """Replace ``path`` atomically with a file readable by its owner only."""
    write_atomically(path, text.encode("utf-8"), mode=_SECRET_MODE)


def _running_mosquitto(pid_file: Path) -> int | None:
    """The pid in a pid file if that process is a mosquitto; a broker killed with SIGKILL
    leaves its pid file behind, and the pid may since belong to an unrelated process."""
    try:
        pid = int(pid_file.read_text().strip())
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    return pid if Path(os.fsdecode(argv[0])).name == "mosquitto" else None
