"""facility.credentials: usernames, Mosquitto password hashes, ACL text, password-file edits."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from facility import DeviceRef, EquipmentKind
from facility.credentials import (
    ITERATIONS,
    PLATFORM_USERNAME,
    SALT_BYTES,
    Access,
    Grant,
    account_grants,
    device_for_username,
    device_ref,
    device_topics,
    ensure_password,
    hash_password,
    new_password,
    parse_device_list,
    parse_device_path,
    password_file_users,
    password_hash_of,
    render_acl,
    username_for,
    verify_password,
    with_passwords,
    without_users,
)

# Written by `mosquitto_passwd -b pwfile alice s3cret` (Mosquitto 2.0.11): an oracle from the
# real tool, not from this code.
MOSQUITTO_PASSWD_LINE = (
    "alice:$7$101$g5h/PJTffS3r4BLX$jKL8W9wd3kojF6FEQx3wRTsVHH+GKb6SwCBtTDCm2nOO7Ro0zZ1l2+We4Uhl"
    "pKWOjdKkHKCYgyVmqQgu4XPryQ=="
)
HASH_FORMAT = re.compile(r"\$7\$(\d+)\$([A-Za-z0-9+/]{16})\$([A-Za-z0-9+/]{86}==)")


def test_hash_has_mosquitto_format_and_recomputes_from_its_salt() -> None:
    encoded = hash_password("correct horse")
    match = HASH_FORMAT.fullmatch(encoded)
    assert match is not None, encoded
    iterations, salt, digest = int(match[1]), base64.b64decode(match[2]), match[3]
    assert iterations == ITERATIONS == 101
    assert len(salt) == SALT_BYTES == 12
    recomputed = hashlib.pbkdf2_hmac("sha512", b"correct horse", salt, iterations)
    assert base64.b64encode(recomputed).decode() == digest


def test_hash_reproduces_mosquitto_passwd_output_for_the_same_salt() -> None:
    encoded = MOSQUITTO_PASSWD_LINE.partition(":")[2]
    salt = base64.b64decode(encoded.split("$")[3])
    assert hash_password("s3cret", salt=salt) == encoded
    assert verify_password("s3cret", encoded)
    assert not verify_password("s3cret ", encoded)


def test_each_hash_gets_a_new_salt() -> None:
    first, second = hash_password("same"), hash_password("same")
    assert first != second
    assert verify_password("same", first) and verify_password("same", second)


def test_hash_counts_non_ascii_passwords_as_utf8() -> None:
    salt = bytes(range(SALT_BYTES))
    digest = hashlib.pbkdf2_hmac("sha512", "Zürich-é".encode(), salt, ITERATIONS)
    assert hash_password("Zürich-é", salt=salt).endswith(base64.b64encode(digest).decode())


@pytest.mark.parametrize(
    "broken",
    ["", "plain", "$6$abc$def", "$7$x$AAAA$AAAA", "$7$101$not base64!$AAAA", "$7$101$AAAA"],
)
def test_verify_refuses_other_or_broken_hashes(broken: str) -> None:
    assert not verify_password("anything", broken)


def test_hash_refuses_a_salt_mosquitto_would_not_read() -> None:
    with pytest.raises(ValueError, match="12 bytes"):
        hash_password("pw", salt=b"short")


def test_new_passwords_are_long_url_safe_and_distinct() -> None:
    passwords = {new_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", p) for p in passwords)


def test_username_round_trips_to_the_device() -> None:
    ref = device_ref("Tower_A-2", "access_gate", "garage-in")
    assert username_for(ref) == "Tower_A-2.access_gate.garage-in"
    assert device_for_username(username_for(ref)) == ref


@pytest.mark.parametrize(
    "username", [PLATFORM_USERNAME, "alice", "a.b", "a.b.c.d", "s.boiler.d1", "s..d", ".pump.d"]
)
def test_other_usernames_are_no_device(username: str) -> None:
    assert device_for_username(username) is None


@pytest.mark.parametrize(
    ("site", "kind", "device", "field"),
    [
        ("tower a", "pump", "p1", "site"),
        ("", "pump", "p1", "site"),
        ("x" * 65, "pump", "p1", "site"),
        ("tower.a", "pump", "p1", "site"),
        ("tower/a", "pump", "p1", "site"),
        ("tower+", "pump", "p1", "site"),
        ("hq", "boiler", "p1", "kind"),
        ("hq", "Pump", "p1", "kind"),
        ("hq", "pump", "p#", "device"),
        ("hq", "pump", "p1:x", "device"),
        ("hq", "pump", "", "device"),
    ],
)
def test_bad_names_are_refused_naming_the_field(
    site: str, kind: str, device: str, field: str
) -> None:
    with pytest.raises(ValueError, match=rf"^{field} "):
        device_ref(site, kind, device)


def test_the_longest_names_are_accepted() -> None:
    ref = device_ref("s" * 64, "fire_panel", "d" * 64)
    assert ref == DeviceRef("s" * 64, EquipmentKind.FIRE_PANEL, "d" * 64)


@pytest.mark.parametrize("text", ["hq/pump", "hq/pump/p1/x", "hq", "hq//p1"])
def test_device_path_needs_three_valid_parts(text: str) -> None:
    with pytest.raises(ValueError, match=r"site/kind/device|kind"):
        parse_device_path(text)


def test_device_list_skips_comments_and_duplicates_and_names_a_bad_line() -> None:
    text = "# site hq\nhq/pump/p1\n\n  hq/elevator/car-1  \nhq/pump/p1\n"
    assert parse_device_list(text) == [
        DeviceRef("hq", EquipmentKind.PUMP, "p1"),
        DeviceRef("hq", EquipmentKind.ELEVATOR, "car-1"),
    ]
    with pytest.raises(ValueError, match=r"^line 3: kind 'boiler'"):
        parse_device_list("hq/pump/p1\n# ok\nhq/boiler/b1\n")


def test_a_device_writes_exactly_its_three_topics() -> None:
    ref = device_ref("hq", "pump", "p1")
    assert account_grants(username_for(ref)) == (
        Grant(Access.WRITE, "facmon/hq/pump/p1/telemetry"),
        Grant(Access.WRITE, "facmon/hq/pump/p1/event"),
        Grant(Access.WRITE, "facmon/hq/pump/p1/status"),
    )
    assert device_topics(ref)[0] == "facmon/hq/pump/p1/telemetry"


def test_platform_reads_and_writes_everything_under_facmon_and_strangers_nothing() -> None:
    assert account_grants(PLATFORM_USERNAME) == (Grant(Access.READWRITE, "facmon/#"),)
    assert account_grants("alice") == ()


def _acl_blocks(acl: str) -> dict[str | None, list[str]]:
    """ACL lines per `user` block; key None holds what comes before the first user line."""
    blocks: dict[str | None, list[str]] = {None: []}
    current: str | None = None
    for line in acl.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("user "):
            current = line.removeprefix("user ")
            blocks[current] = []
        else:
            blocks[current].append(line)
    return blocks


def test_acl_gives_each_account_its_own_block_and_anonymous_nothing() -> None:
    acl = render_acl(["hq.pump.p1", PLATFORM_USERNAME, "hq.elevator.car-1", "alice"])
    blocks = _acl_blocks(acl)
    assert blocks.pop(None) == []  # lines before any `user` line would apply to anonymous
    assert blocks == {
        PLATFORM_USERNAME: ["topic readwrite facmon/#"],
        "hq.elevator.car-1": [
            "topic write facmon/hq/elevator/car-1/telemetry",
            "topic write facmon/hq/elevator/car-1/event",
            "topic write facmon/hq/elevator/car-1/status",
        ],
        "hq.pump.p1": [
            "topic write facmon/hq/pump/p1/telemetry",
            "topic write facmon/hq/pump/p1/event",
            "topic write facmon/hq/pump/p1/status",
        ],
    }
    assert "pattern" not in acl  # pattern lines would apply to every account
    assert "# alice: not a facmon account" in acl


PASSWD = (
    "# kept by hand\n"
    f"{MOSQUITTO_PASSWD_LINE}\n"
    "hq.pump.p1:$7$101$AAAAAAAAAAAAAAAA$old1\n"
    "hq.pump.p2:$7$101$AAAAAAAAAAAAAAAA$old2\n"
)


def test_adding_an_account_appends_it_and_keeps_every_other_line() -> None:
    result = with_passwords(PASSWD, {"hq.pump.p3": "$7$new3"})
    assert result == PASSWD + "hq.pump.p3:$7$new3\n"


def test_rotating_replaces_only_that_entry_in_place() -> None:
    result = with_passwords(PASSWD, {"hq.pump.p1": "$7$new1"})
    assert result.splitlines() == [
        "# kept by hand",
        MOSQUITTO_PASSWD_LINE,
        "hq.pump.p1:$7$new1",
        "hq.pump.p2:$7$101$AAAAAAAAAAAAAAAA$old2",
    ]


def test_rotating_collapses_duplicate_entries_so_the_new_hash_is_the_one_used() -> None:
    result = with_passwords("u:$7$a\nv:$7$v\n u :$7$b\n", {"u": "$7$new"})
    assert result == "u:$7$new\nv:$7$v\n"
    assert password_hash_of(result, "u") == "$7$new"


def test_the_broker_uses_the_last_of_duplicate_entries() -> None:
    assert password_hash_of("u:$7$a\n u :$7$b\n", "u") == "$7$b"
    assert password_hash_of("u:$7$a\n", "v") is None


def test_revoking_removes_only_those_accounts_and_ignores_absent_ones() -> None:
    result = without_users(PASSWD, ["hq.pump.p1", "hq.pump.p9"])
    assert result == PASSWD.replace("hq.pump.p1:$7$101$AAAAAAAAAAAAAAAA$old1\n", "")


def test_users_are_read_as_mosquitto_reads_them() -> None:
    text = "#commented:x\nno colon line\n\n  spaced : $7$x\nalice:$7$a\nalice:$7$b\n"
    assert password_file_users(text) == ["spaced", "alice"]


@pytest.mark.parametrize("username", ["", "a:b", "a\nb", " a", "a#", "a+b"])
def test_unsafe_usernames_are_not_written(username: str) -> None:
    with pytest.raises(ValueError, match="not safe"):
        with_passwords("", {username: "$7$x"})


def test_ensure_password_keeps_a_matching_hash_and_replaces_a_stale_one() -> None:
    text = with_passwords("", {PLATFORM_USERNAME: hash_password("svc")})
    assert ensure_password(text, PLATFORM_USERNAME, "svc") == text
    changed = ensure_password(text, PLATFORM_USERNAME, "other")
    hashed = password_hash_of(changed, PLATFORM_USERNAME)
    assert hashed is not None and verify_password("other", hashed)
    added = ensure_password("", "svc-user", "pw")
    assert password_file_users(added) == ["svc-user"]
