"""`facmon devices`: per-device MQTT credentials for the Mosquitto broker (see broker/).

`provision` prints each device's new password once, as JSON lines on stdout; `revoke` removes
devices; `list` shows the accounts and their topics. A broker that facmon started reloads the
files at once; any other must be sent SIGHUP.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from broker import auth_dir, list_accounts, provision, reload_brokers, revoke
from facility import DeviceRef, Settings, device_ref, parse_device_list, username_for

log = logging.getLogger("facmon.devices")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="devices_command", required=True)
    provision_parser = commands.add_parser(
        "provision", help="create or rotate device credentials; each password is printed once"
    )
    _add_selection(provision_parser)
    _add_selection(commands.add_parser("revoke", help="remove devices' credentials"))
    commands.add_parser("list", help="accounts and their topics (no secrets)")
    parser.set_defaults(handler=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    state_dir = Path(settings.state_dir)
    if args.devices_command == "list":
        for account in list_accounts(state_dir):
            print(json.dumps(account))
        return 0
    try:
        devices = _selected_devices(args)
    except (OSError, ValueError) as error:
        print(f"facmon devices {args.devices_command}: {error}", file=sys.stderr)
        return 2
    if args.devices_command == "provision":
        for entry in provision(state_dir, devices):
            print(entry.as_json(), flush=True)
    else:
        removed = revoke(state_dir, devices)
        for ref in devices:
            username = username_for(ref)
            print(json.dumps({"username": username, "revoked": username in removed}))
    _report_reload(state_dir, reload_brokers(state_dir))
    return 0


def _add_selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", help="the devices' site")
    parser.add_argument("--kind", help="the devices' equipment kind")
    parser.add_argument(
        "--device", action="append", default=[], help="a device id (repeat for several)"
    )
    parser.add_argument(
        "--from",
        dest="from_file",
        type=Path,
        help="a file with one site/kind/device a line (# comments allowed)",
    )


def _selected_devices(args: argparse.Namespace) -> list[DeviceRef]:
    """The devices named by --site/--kind/--device and --from, each once, in order."""
    named = (args.site, args.kind, args.device)
    if any(named) and not all(named):
        raise ValueError("--site, --kind and --device go together")
    devices = [device_ref(args.site, args.kind, device) for device in args.device]
    if args.from_file is not None:
        try:
            devices += parse_device_list(args.from_file.read_text(encoding="utf-8"))
        except ValueError as error:
            raise ValueError(f"{args.from_file}: {error}") from None
    if not devices:
        raise ValueError("no devices given: use --site, --kind and --device, or --from FILE")
    return list(dict.fromkeys(devices))


def _report_reload(state_dir: Path, pids: list[int]) -> None:
    directory = auth_dir(state_dir).resolve()
    if pids:
        log.info(f"mosquitto reloaded {directory}/passwd and acl (pid {pids})")
    else:
        log.warning(
            f"no running broker started by facmon uses {directory}; a broker using these files "
            "must be sent SIGHUP (or restarted) to apply the change"
        )
