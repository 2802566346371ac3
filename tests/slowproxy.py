"""A TCP proxy on 127.0.0.1 in front of PostgreSQL's Unix socket, that can be made slow: while
``delay`` is above 0, every chunk the server sends is held that long before it is passed on,
as a congested link or an overloaded server would hold it. Order is kept; chunks are not
serialised behind each other's delays (each is due ``delay`` after it arrived). When either
side closes, so does the other: a server restart reaches the clients as it would directly.

Why a proxy rather than ``pg_sleep`` in a trigger or hook: it slows every round trip, reads,
connection checks and connects included, without touching the schema or the bot, and the
soak switches it on and off from outside, as the network does. It runs on an event loop in a
thread of its own, so the load the soak generates does not delay it further."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from pathlib import Path

CHUNK = 65_536


class SlowProxy:
    def __init__(self, target: Path) -> None:
        """``target``: the server's Unix socket (``.s.PGSQL.<port>``)."""
        self.target = target
        self.delay = 0.0  # seconds each chunk from the server is held; set at any time
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="slowproxy",
                                        daemon=True)
        self._server: asyncio.Server | None = None

    def start(self) -> SlowProxy:
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        started.result(timeout=10)
        return self

    def stop(self) -> None:
        if self._server is not None:
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()

    async def _serve(self, client_r: asyncio.StreamReader,
                     client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_unix_connection(str(self.target))
        except OSError:  # the server is down: the client sees its connection closed
            client_w.close()
            return
        await asyncio.gather(self._pipe(client_r, server_w, slowed=False),
                             self._pipe(server_r, client_w, slowed=True),
                             return_exceptions=True)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *,
                    slowed: bool) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def read() -> None:
            try:
                while chunk := await source.read(CHUNK):
                    due = time.monotonic() + (self.delay if slowed else 0.0)
                    queue.put_nowait((due, chunk))
            except (OSError, asyncio.IncompleteReadError):
                pass
            queue.put_nowait((0.0, b""))  # the end

        reader = asyncio.create_task(read())
        try:
            while True:
                due, chunk = await queue.get()
                if not chunk:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                sink.write(chunk)
                await sink.drain()
        except OSError:
            pass
        finally:
            reader.cancel()
            with contextlib.suppress(OSError):
                sink.close()
