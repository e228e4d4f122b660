"""Durable events with real processes on loopback: killing the dashboard or an agent loses and duplicates nothing."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from tests.processes import REPO, DashboardProcess, rig_config, wait_until

pytestmark = pytest.mark.slow

COUNT = 300


@pytest.fixture
def dashboard(tmp_path):
    process = DashboardProcess(tmp_path / "dashboard")
    yield process
    process.stop()


def start_emitter(config, run: str, count: int, progress) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.labweb.live.emitter", str(config), run, str(count), str(progress)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=open(progress.with_suffix(".log"), "ab"),  # noqa: SIM115
    )


def stored_ticks(dashboard: DashboardProcess, run: str) -> list[tuple[int, int]]:
    rows = dashboard.query(
        f"result = list(RigEvent.objects.filter(name='test.tick', data__run='{run}').values_list('seq', 'data__n'))"
    )
    return sorted((seq, n) for seq, n in rows)


def progress_of(path) -> int:
    lines = path.read_text().split() if path.exists() else []
    return int(lines[-1]) if lines else 0


def test_killing_the_dashboard_loses_and_duplicates_no_event(dashboard, tmp_path):
    token = dashboard.add_rig("emitter")
    dashboard.start()
    config = rig_config(tmp_path / "rig.yaml", name="emitter", port=dashboard.port, token=token)
    progress = tmp_path / "progress.txt"
    emitter = start_emitter(config, "A", COUNT, progress)
    try:
        wait_until(lambda: progress_of(progress) >= COUNT // 4, 30, "the agent to emit a quarter of its events")
        dashboard.kill()
        killed_at = progress_of(progress)
        wait_until(lambda: progress_of(progress) >= killed_at + 20, 30, "the agent to go on while the dashboard is away")
        dashboard.start()
        assert emitter.wait(timeout=90) == 0
    finally:
        emitter.kill()
    ticks = stored_ticks(dashboard, "A")
    assert [n for _, n in ticks] == list(range(1, COUNT + 1))  # every event, each once, in seq order
    assert len({seq for seq, _ in ticks}) == COUNT


def test_killing_an_agent_loses_and_duplicates_no_event(dashboard, tmp_path):
    token = dashboard.add_rig("emitter")
    dashboard.start()
    config = rig_config(tmp_path / "rig.yaml", name="emitter", port=dashboard.port, token=token)
    first = start_emitter(config, "A", COUNT, tmp_path / "a.txt")
    wait_until(lambda: progress_of(tmp_path / "a.txt") >= COUNT // 3, 30, "the agent to emit a third of its events")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    emitted_before_kill = progress_of(tmp_path / "a.txt")

    second = start_emitter(config, "B", 50, tmp_path / "b.txt")  # the same rig started again, same outbox
    try:
        assert second.wait(timeout=90) == 0
    finally:
        second.kill()
    before = stored_ticks(dashboard, "A")
    numbers = [n for _, n in before]
    # Everything the killed agent had put in its outbox arrived once: 1..K, where K is what it logged
    # (or one more, when it was killed between writing the event and logging it).
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) in (emitted_before_kill, emitted_before_kill + 1)
    after = stored_ticks(dashboard, "B")
    assert [n for _, n in after] == list(range(1, 51))
    assert min(seq for seq, _ in after) > max(seq for seq, _ in before)
