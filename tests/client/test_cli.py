"""Argument parsing of ``switchboard call`` / ``switchboard answer``."""

from __future__ import annotations

import argparse

import pytest

from switchboard.client.cli import add_client_commands, build_args


def test_call_arguments_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_USERNAME", "alice")
    monkeypatch.setenv("SWITCHBOARD_PASSWORD", "from-env-123")
    args = build_args(
        [
            "call",
            "bob",
            "--audio",
            "song.wav",
            "--host-address",
            "127.0.0.1",
            "--host-address",
            "::1",
        ]
    )
    assert (args.command, args.user, args.audio, args.tone) == ("call", "bob", "song.wav", None)
    assert args.server == "http://127.0.0.1:8000"
    assert (args.username, args.password) == ("alice", "from-env-123")
    assert args.host_addresses == ["127.0.0.1", "::1"]
    assert callable(args.run)


def test_call_needs_a_source_and_answer_a_record_file() -> None:
    with pytest.raises(SystemExit):
        build_args(["call", "bob"])
    with pytest.raises(SystemExit):
        build_args(["answer"])
    args = build_args(["answer", "--record", "out.wav", "--count", "2", "--username", "bot"])
    assert (args.record, args.count, args.username, args.host_addresses) == (
        "out.wav",
        2,
        "bot",
        None,
    )


def test_commands_hook_into_another_parser() -> None:
    parser = argparse.ArgumentParser(prog="switchboard")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve")
    add_client_commands(commands)
    assert parser.parse_args(["call", "bob", "--tone", "440"]).tone == 440.0
    assert parser.parse_args(["serve"]).command == "serve"
