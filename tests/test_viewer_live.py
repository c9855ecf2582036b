"""LiveViewer: port handling, throttling, pause/resume, export, clients coming and going."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import torch

from splatdream.scene import sample_orbit
from splatdream.scene_config import OrbitRanges
from tests.support.demo_scenes import demo_particles
from tests.support.fake_client import FakeBrowser
from viewer import LiveViewer, ViewerConfig


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def make_viewer(num_particles: int = 2, **kw: object) -> LiveViewer:
    return LiveViewer(ViewerConfig(port=free_port(), **kw), num_particles)  # type: ignore[arg-type]


def wait_for(predicate, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_server_starts_moves_past_a_busy_port_and_frees_it_on_close() -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", free_port()))
    busy.listen()
    taken = busy.getsockname()[1]
    try:
        with LiveViewer(ViewerConfig(port=taken), num_particles=1) as viewer:
            assert viewer.port > taken
            assert viewer.url == f"http://127.0.0.1:{viewer.port}"
            assert not port_is_free(viewer.port)
            with socket.create_connection(("127.0.0.1", viewer.port), timeout=5):
                pass
        assert wait_for(lambda: port_is_free(viewer.port))
    finally:
        busy.close()


def test_interrupted_training_stops_the_server_and_frees_the_port() -> None:
    with pytest.raises(KeyboardInterrupt):
        with make_viewer() as viewer:
            port = viewer.port
            viewer._toggle_pause()
            raise KeyboardInterrupt  # Ctrl-C in the training loop
    assert wait_for(lambda: port_is_free(port))
    assert not viewer._thread.is_alive()


def test_disabled_viewer_is_a_no_op() -> None:
    viewer = LiveViewer(ViewerConfig(enabled=False), num_particles=2)
    assert viewer.url == ""
    viewer.update(0, 10, "vsd", demo_particles(2, 10), {"loss": 1.0})
    viewer.wait_if_paused()
    assert not viewer.export_requested()
    viewer.close()


def test_update_is_quick_and_drops_when_throttled() -> None:
    particles = demo_particles(4, 20_000)
    with make_viewer(4, update_every=2, max_updates_per_second=2.0) as viewer, FakeBrowser(viewer.url):
        assert wait_for(lambda: bool(viewer._server.get_clients()))
        times = []
        start = time.perf_counter()
        for step in range(60):
            t0 = time.perf_counter()
            viewer.update(step, 60, "vsd", particles, {"loss": 1.0 / (step + 1)})
            times.append(time.perf_counter() - t0)
        allowed = 1 + int((time.perf_counter() - start) * 2.0)  # 2 pushes per second at most
        # 30 of the 60 steps are due (every 2nd); all but the few the rate allows are dropped
        stats = viewer.stats
        assert wait_for(lambda: stats.dropped + stats.pushed + stats.superseded == 30)
        assert 1 <= stats.pushed <= allowed
        assert stats.errors == 0
        # most steps only record metrics (microseconds); a due, unthrottled one copies 4 x 20k Gaussians
        # (~2 ms on an idle 2-core box, the bound is for an oversubscribed CI machine)
        assert sorted(times)[len(times) // 2] < 0.002 and max(times) < 2.0, times


def test_no_browser_no_conversion_and_a_new_browser_gets_the_newest_state() -> None:
    particles = demo_particles(2, 500)
    with make_viewer(update_every=1, max_updates_per_second=100.0) as viewer:
        for step in range(5):
            viewer.update(step, 10, "vsd", particles, {})
            time.sleep(0.02)
        time.sleep(0.1)
        assert viewer.stats.pushed == 0 and viewer.stats.superseded >= 3
        viewer._toggle_pause()  # nothing calls update() from here on
        with FakeBrowser(viewer.url) as browser:
            assert wait_for(lambda: viewer.stats.pushed == 1)
            assert wait_for(lambda: browser.bytes_received > 2 * 500 * 32)  # both particles' splat buffers


def test_pause_blocks_the_training_loop_until_resume() -> None:
    with make_viewer() as viewer:
        viewer._toggle_pause()  # what clicking "Pause training" does
        released = threading.Event()

        def train() -> None:
            viewer.wait_if_paused()
            released.set()

        thread = threading.Thread(target=train)
        thread.start()
        assert not released.wait(0.4)
        assert viewer._pause_button.label == "Resume training"
        viewer._toggle_pause()
        assert released.wait(2.0)
        thread.join()
        viewer._toggle_pause()
        thread = threading.Thread(target=train)
        released.clear()
        thread.start()
        assert not released.wait(0.2)
    assert released.wait(2.0), "close() must release a paused trainer"
    thread.join()


def test_export_flag_and_callback_run_once_on_the_training_thread() -> None:
    particles = demo_particles(2, 100)
    with make_viewer() as viewer:
        assert not viewer.export_requested()
        viewer._request_export()  # what clicking "Export now" does
        assert viewer.export_requested()
        assert not viewer.export_requested()

        calls: list[int] = []
        viewer.set_export_callback(lambda: calls.append(threading.get_ident()) or "out/particle_0.ply")
        viewer.update(1, 10, "vsd", particles, {})
        assert calls == []
        viewer._request_export()
        viewer.update(2, 10, "vsd", particles, {})
        viewer.update(3, 10, "vsd", particles, {})
        assert calls == [threading.get_ident()]
        assert "out/particle_0.ply" in viewer._note.content

        # while paused, the export still happens (inside wait_if_paused)
        viewer._toggle_pause()
        viewer._request_export()
        thread = threading.Thread(target=viewer.wait_if_paused)
        thread.start()
        assert wait_for(lambda: len(calls) == 2)
        viewer._toggle_pause()
        thread.join(timeout=2)
        assert not thread.is_alive()


def test_failed_export_is_reported_not_raised() -> None:
    with make_viewer() as viewer:
        viewer.set_export_callback(lambda: 1 / 0)
        viewer._request_export()
        viewer.wait_if_paused()
        assert viewer.stats.errors == 1 and "ZeroDivisionError" in viewer.stats.last_error
        assert "Export failed" in viewer._note.content


def test_clients_connecting_and_leaving_do_not_touch_training() -> None:
    particles = demo_particles(2, 2000)
    gen = torch.Generator().manual_seed(0)
    with make_viewer(update_every=1, max_updates_per_second=50.0) as viewer:
        stop = threading.Event()
        slowest = [0.0]
        steps = [0]

        def train() -> None:
            while not stop.is_set():
                cams = sample_orbit(2, OrbitRanges(), 32, 32, generator=gen)
                t0 = time.perf_counter()
                viewer.update(steps[0], 10_000, "vsd", particles, {"loss": 1.0}, cams)
                viewer.wait_if_paused()
                slowest[0] = max(slowest[0], time.perf_counter() - t0)
                steps[0] += 1
                time.sleep(0.005)

        thread = threading.Thread(target=train)
        thread.start()
        try:
            for _ in range(3):
                before, pushed = steps[0], viewer.stats.pushed
                with FakeBrowser(viewer.url) as browser:
                    assert wait_for(
                        lambda pushed=pushed: viewer.stats.pushed > pushed + 2 and browser.bytes_received > 0
                    )
                assert wait_for(lambda before=before: steps[0] > before + 5)
            # with nobody watching, training goes on and the viewer stops converting
            before, superseded = steps[0], viewer.stats.superseded
            assert wait_for(lambda: steps[0] > before + 20 and viewer.stats.superseded > superseded)
        finally:
            stop.set()
            thread.join()
        assert viewer.stats.errors == 0, viewer.stats.last_error
        assert slowest[0] < 0.5


@pytest.mark.parametrize("bad", [{"update_every": 0}, {"max_updates_per_second": 0.0}])
def test_bad_config_names_the_field(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="viewer\\."):
        LiveViewer(ViewerConfig(enabled=False, **bad), 1)  # type: ignore[arg-type]


def test_trainer_records_with_lists_and_flags_plot_only_real_numbers() -> None:
    with make_viewer() as viewer:
        record = {"step": 3, "loss": 0.5, "lora_loss": 2, "num_gaussians": [100, 200], "skipped": False}
        viewer.update(3, 10, "distil", demo_particles(2, 50), record)
        assert viewer._history.keys() == ["loss", "lora_loss"]
        viewer.update(4, 10, "distil", demo_particles(2, 50), {"loss": float("nan")})
        assert viewer._history.series("loss")[1].tolist() == [0.5]
