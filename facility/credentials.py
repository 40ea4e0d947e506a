"""Per-device MQTT credentials for Mosquitto 2.0: usernames, password hashes, the ACL.

Pure: values in, text out. The package that reads and writes the broker's files, and tells
the broker to reload them, is broker/ (`facmon devices` on the command line).

Every device gets its own account, ``{site}.{kind}.{device}``, that may publish to its own three
topics and nothing else. The platform's services share one account, ``facmon-platform``, that
may read and write everything under ``facmon/``. A device username always holds two dots and
the platform's none, so no device can be named into the platform's account, and none of the
names can hold the ``:`` that separates username and hash in Mosquitto's password file.

Example::

    ref = device_ref("tower-a", "pump", "p1")
    password = new_password()
    passwd = with_passwords("", {username_for(ref): hash_password(password)})
    acl = render_acl(password_file_users(passwd))
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from facility.catalogue import EquipmentKind
from facility.telemetry import NAME_PATTERN, Channel, DeviceRef

__all__ = [
    "ITERATIONS",
    "PLATFORM_USERNAME",
    "SALT_BYTES",
    "Access",
    "Grant",
    "account_grants",
    "device_for_username",
    "device_ref",
    "device_topics",
    "ensure_password",
    "hash_password",
    "new_password",
    "parse_device_list",
    "parse_device_path",
    "password_file_users",
    "password_hash_of",
    "render_acl",
    "username_for",
    "verify_password",
    "with_passwords",
    "without_users",
]

PLATFORM_USERNAME = "facmon-platform"
"""The account of facmon's own services (ingest, analytics, demo simulators)."""

# What mosquitto_passwd 2.0 writes: PBKDF2-HMAC-SHA512, 101 rounds, a 12-byte salt. The broker
# reads the round count from each line, but 2.0 refuses a salt of any other length.
ITERATIONS = 101
SALT_BYTES = 12
_PBKDF2_TAG = "7"  # "$7$" marks PBKDF2-SHA512 in Mosquitto's password file

_SEPARATOR = "."  # not allowed in site or device names, nor in the kinds
_NAME_RULE = "1 to 64 characters from A-Z a-z 0-9 _ -"


class Access(StrEnum):
    """An ACL access type, spelt as Mosquitto's acl_file spells it."""

    READ = "read"
    WRITE = "write"
    READWRITE = "readwrite"


@dataclass(frozen=True, slots=True)
class Grant:
    """One ``topic <access> <filter>`` line of an account's ACL."""

    access: Access
    topic: str


def device_ref(site: str, kind: str, device: str) -> DeviceRef:
    """A validated device reference; ValueError names the field that is wrong and why.

    >>> device_ref("tower-a", "pump", "p1").kind
    <EquipmentKind.PUMP: 'pump'>
    >>> device_ref("tower a", "pump", "p1")
    Traceback (most recent call last):
    ...
    ValueError: site 'tower a' is not valid: expected 1 to 64 characters from A-Z a-z 0-9 _ -
    """
    for field, value in (("site", site), ("device", device)):
        if NAME_PATTERN.fullmatch(value) is None:
            raise ValueError(f"{field} {value!r} is not valid: expected {_NAME_RULE}")
    try:
        equipment = EquipmentKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in EquipmentKind)
        raise ValueError(f"kind {kind!r} is not valid: expected one of {kinds}") from None
    return DeviceRef(site, equipment, device)


def parse_device_path(text: str) -> DeviceRef:
    """A device written as ``site/kind/device`` (white space around it is ignored).

    >>> parse_device_path(" hq/access_gate/garage-in ").device
    'garage-in'
    """
    parts = text.strip().split("/")
    if len(parts) != 3:
        raise ValueError(f"{text.strip()!r} is not a device: expected site/kind/device")
    return device_ref(*parts)


def parse_device_list(text: str) -> list[DeviceRef]:
    """Devices listed one ``site/kind/device`` a line; blank lines and ``#`` comments are
    skipped, a device listed twice counts once, and an error names its line.

    >>> [d.device for d in parse_device_list("# tower A\\nhq/pump/p1\\n\\nhq/pump/p2\\n")]
    ['p1', 'p2']
    """
    devices: list[DeviceRef] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            devices.append(parse_device_path(line))
        except ValueError as error:
            raise ValueError(f"line {number}: {error}") from None
    return list(dict.fromkeys(devices))


def username_for(ref: DeviceRef) -> str:
    """The device's MQTT username.

    >>> username_for(device_ref("tower-a", "fire_panel", "fp1"))
    'tower-a.fire_panel.fp1'
    """
    return _SEPARATOR.join((ref.site, ref.kind.value, ref.device))


def device_for_username(username: str) -> DeviceRef | None:
    """The device a username belongs to, or None when it is no device's username.

    >>> device_for_username("facmon-platform") is None
    True
    """
    parts = username.split(_SEPARATOR)
    if len(parts) != 3:
        return None
    try:
        return device_ref(*parts)
    except ValueError:
        return None


def device_topics(ref: DeviceRef) -> tuple[str, ...]:
    """The topics a device publishes to: telemetry, event and (retained) status."""
    base = f"facmon/{ref.site}/{ref.kind.value}/{ref.device}"
    return tuple(f"{base}/{channel.value}" for channel in Channel)


def account_grants(username: str) -> tuple[Grant, ...]:
    """What an account may do: a device writes its own topics, the platform reads and writes
    everything under ``facmon/``, and any other account nothing at all."""
    if username == PLATFORM_USERNAME:
        # A plain filter also admits the platform's $share/<group>/facmon/# subscriptions.
        return (Grant(Access.READWRITE, "facmon/#"),)
    ref = device_for_username(username)
    if ref is None:
        return ()
    return tuple(Grant(Access.WRITE, topic) for topic in device_topics(ref))


def render_acl(usernames: Iterable[str]) -> str:
    """Mosquitto acl_file text granting each account what `account_grants` says.

    Only ``user`` blocks, no ``pattern`` lines (those apply to every account) and nothing
    before the first ``user`` line (that would be the anonymous clients' share). An account
    that is not facmon's gets a comment and no access.
    """
    lines = ["# Generated by `facmon devices`; rewritten on every change. Do not edit."]
    for username in sorted(set(usernames)):
        grants = account_grants(username)
        if not grants:
            lines += ["", f"# {username}: not a facmon account, so it may not publish or read"]
            continue
        lines += ["", f"user {username}"]
        lines += [f"topic {grant.access.value} {grant.topic}" for grant in grants]
    return "\n".join([*lines, ""])


def new_password() -> str:
    """A random password of 32 URL-safe characters (192 bits), safe to paste into a shell."""
    return secrets.token_urlsafe(24)


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """The password-file hash Mosquitto 2.0 checks: ``$7$<iterations>$<salt>$<hash>``, both in
    standard base64, PBKDF2-HMAC-SHA512 over the UTF-8 password (a fresh random salt unless
    one is given)."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    if len(salt) != SALT_BYTES:
        raise ValueError(f"salt must be {SALT_BYTES} bytes, got {len(salt)}")
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"${_PBKDF2_TAG}${iterations}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches a ``$7$`` hash; False for any other or broken hash."""
    parts = encoded.split("$")
    if len(parts) != 5 or parts[0] != "" or parts[1] != _PBKDF2_TAG or not parts[2].isdigit():
        return False
    try:
        salt = base64.b64decode(parts[3], validate=True)
        expected = base64.b64decode(parts[4], validate=True)
    except binascii.Error:
        return False
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, int(parts[2]))
    return hmac.compare_digest(digest, expected)


def password_file_users(text: str) -> list[str]:
    """The usernames in a password file, in file order, each once."""
    found = (_username_of(line) for line in text.splitlines())
    return list(dict.fromkeys(name for name in found if name is not None))


def password_hash_of(text: str, username: str) -> str | None:
    """The hash the broker checks for ``username``, or None. Of duplicate entries Mosquitto
    2.0 uses the last one (checked on 2.0.11), so this does too."""
    found = None
    for line in text.splitlines():
        if _username_of(line) == username:
            found = line.partition(":")[2].strip()
    return found


def with_passwords(text: str, hashes: Mapping[str, str]) -> str:
    """The password file with these usernames set to these hashes: an existing entry is
    replaced where it stands (its password rotates), a new one is appended, and every other
    line (other accounts, comments) is kept as it was."""
    for username in hashes:
        _check_username(username)
    kept: list[str] = []
    written: set[str] = set()
    for line in text.splitlines():
        owner = _username_of(line)
        if owner is None or owner not in hashes:
            kept.append(line)
        elif owner not in written:  # duplicate entries of a rotated account collapse into one
            kept.append(f"{owner}:{hashes[owner]}")
            written.add(owner)
    kept += [f"{name}:{hashed}" for name, hashed in hashes.items() if name not in written]
    return "".join(f"{line}\n" for line in kept)


def without_users(text: str, usernames: Iterable[str]) -> str:
    """The password file without these accounts (absent ones are ignored); all else kept."""
    gone = set(usernames)
    kept = [line for line in text.splitlines() if _username_of(line) not in gone]
    return "".join(f"{line}\n" for line in kept)


def ensure_password(text: str, username: str, password: str) -> str:
    """The password file with ``username`` accepting ``password``: unchanged if it already
    does, so an account whose password is stored elsewhere is not re-hashed on every run."""
    current = password_hash_of(text, username)
    if current is not None and verify_password(password, current):
        return text
    return with_passwords(text, {username: hash_password(password)})


def _username_of(line: str) -> str | None:
    # As Mosquitto 2.0 reads the file: lines starting with '#' or without ':' are skipped, and
    # the username is what precedes the first ':', without surrounding blanks.
    if line.startswith("#") or ":" not in line:
        return None
    return line.partition(":")[0].strip()


def _check_username(username: str) -> None:
    # ':' would split the entry and a line break start another; Mosquitto trims blanks. '+' and
    # '#' are wildcards, which Mosquitto refuses in usernames when checking pattern ACLs.
    unsafe = set(":\r\n+#") & set(username)
    if not username or unsafe or username != username.strip():
        raise ValueError(
            f"username {username!r} is not safe in Mosquitto's password and ACL files: "
            "it must be non-empty, without surrounding blanks, ':', line breaks, '+' or '#'"
        )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
