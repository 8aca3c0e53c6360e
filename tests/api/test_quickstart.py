"""The README's first Quick start command, `fabu quickstart`, run as a real process.

What a newcomer sees: a ready service, a demo admin token printed once that works, a key for
webhook secrets at rest written to ./.env (owner-only), and secrets stored sealed under it.
"""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from app.cli import ensure_secret_key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Quickstart:
    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.port = _free_port()
        self.log = cwd / f"quickstart-{self.port}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FABU_")}
        # Nothing is delivered: the subscription below only has to be stored.
        env["FABU_DELIVERY_ENABLED"] = "false"
        env["FABU_ALLOW_PRIVATE_WEBHOOKS"] = "true"
        repo = Path(__file__).resolve().parents[2]
        env["PYTHONPATH"] = str(repo)
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "quickstart", "--port", str(self.port)],
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"quickstart exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"quickstart was not ready within {within} s:\n{self.output()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[list[Quickstart]]:
    started: list[Quickstart] = []
    yield started
    for q in started:
        q.stop()


def test_quickstart_serves_with_a_working_token_and_seals_webhook_secrets(
    tmp_path: Path, runs: list[Quickstart]
) -> None:
    first = Quickstart(tmp_path)
    runs.append(first)
    first.wait_ready()
    found = re.search(r"Demo admin token \(shown once, keep it\): (\S+)", first.output())
    assert found, first.output()
    headers = {"Authorization": f"Bearer {found.group(1)}"}

    env_file = tmp_path / ".env"
    keys = re.findall(r"^FABU_SECRET_KEYS=(\S+)$", env_file.read_text(), re.MULTILINE)
    assert len(keys) == 1
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600

    made = httpx.post(
        f"{first.base}/api/v1/webhooks",
        headers=headers,
        json={
            "url": "http://127.0.0.1:9/hooks/fabu",
            "channel": "website",
            "event_types": ["release.published"],
        },
    )
    assert made.status_code == 201, made.text
    shown = made.json()["secret"]
    engine = create_engine(f"sqlite:///{tmp_path / 'fabu.db'}")
    with engine.connect() as conn:
        stored = conn.execute(text("select secret from webhook_subscriptions")).scalar_one()
    engine.dispose()
    assert stored.startswith("fernet:")
    assert shown not in stored
    first.stop()

    # A second run keeps its key and its token, and does not print the token again.
    second = Quickstart(tmp_path)
    runs.append(second)
    second.wait_ready()
    assert "Demo admin token" not in second.output()
    assert re.findall(r"^FABU_SECRET_KEYS=(\S+)$", env_file.read_text(), re.MULTILINE) == keys
    listed = httpx.get(f"{second.base}/api/v1/webhooks", headers=headers)
    assert listed.status_code == 200, listed.text


def test_a_key_added_to_an_existing_env_file_leaves_it_readable_by_its_owner_only(
    terminal: Path,
) -> None:
    env_file = terminal / ".env"
    env_file.write_text("FABU_PORT=8765")  # a file someone made, world-readable, no newline
    env_file.chmod(0o644)
    assert ensure_secret_key(env_file) is True
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    lines = env_file.read_text().splitlines()
    assert lines[0] == "FABU_PORT=8765"
    assert lines[1].startswith("FABU_SECRET_KEYS=")
    # Now that a key is set, nothing more is written.
    assert ensure_secret_key(env_file) is False
    assert len(env_file.read_text().splitlines()) == 2


def test_a_linked_env_file_is_not_followed(terminal: Path) -> None:
    elsewhere = terminal / "shared.txt"
    elsewhere.write_text("")
    (terminal / ".env").symlink_to(elsewhere)
    with pytest.raises(OSError):
        ensure_secret_key(terminal / ".env")
    assert elsewhere.read_text() == ""
