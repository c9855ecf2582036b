"""A browser stand-in: connects the way a viser tab does and drains everything the server sends.

Used by the tests and the overhead benchmark to have a "connected browser" without rendering
(a real browser runs on the user's machine, not on the training box's cores).
"""

from __future__ import annotations

import threading

import msgspec.msgpack
import viser
from viser._messages import ViewerCameraMessage
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


class FakeBrowser:
    """Registers as a client (version subprotocol + one camera message), then counts received bytes."""

    def __init__(self, url: str) -> None:
        ws_url = url.replace("http://", "ws://", 1)
        self._ws = connect(ws_url, subprotocols=[f"viser-v{viser.__version__}"], max_size=None)  # type: ignore[list-item]
        camera = ViewerCameraMessage(
            wxyz=(1.0, 0.0, 0.0, 0.0),
            position=(0.0, 0.0, 4.0),
            fov=0.9,
            near=0.01,
            far=100.0,
            image_height=600,
            image_width=800,
            look_at=(0.0, 0.0, 0.0),
            up_direction=(0.0, 1.0, 0.0),
        )
        self._ws.send(msgspec.msgpack.encode(camera.as_serializable_dict()))
        self.bytes_received = 0
        self.messages = 0
        self._thread = threading.Thread(target=self._drain, name="fake-browser", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        try:
            for message in self._ws:
                self.bytes_received += len(message)
                self.messages += 1
        except ConnectionClosed:
            pass

    def close(self) -> None:
        self._ws.close()
        self._thread.join(timeout=5.0)

    def __enter__(self) -> FakeBrowser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main() -> None:
    """``python -m tests.support.fake_client URL``: stay connected until stdin closes (benchmark helper)."""
    import sys

    with FakeBrowser(sys.argv[1]) as browser:
        sys.stdin.read()
    print(f"received {browser.messages} messages, {browser.bytes_received} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
