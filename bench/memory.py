"""One worker's memory over many requests: does it creep?

Starts a real `demarche serve` (one worker) on a temporary SQLite database holding the
demo, sends N requests of a fixed mix (API reads as the desk and a post, pages with a
session cookie, 401s, 404s and 422s, probes, /metrics, a repeated cable upload) from a
few clients at once, and prints the worker's resident memory before the load and after
every 2,000 requests. Prints figures only; nothing is asserted (no timed tests).

    .venv/bin/python bench/memory.py [--requests 10000] [--clients 4] [--distinct-tokens K]

--distinct-tokens K mints K more tokens for the desk and the post before the server
starts, and the API requests take them in turn, each a credential the worker has not
seen lately (as when many users come and go, or clients make fresh tokens): it measures
what the worker keeps per credential. The rest of the environment (MALLOC_ARENA_MAX, say)
is passed through to the server.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench._server import _status, free_port  # noqa: E402

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STEP = 2_000


def prepare(url: str, distinct: int) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Migrate, load the demo; the demo users' tokens by name, and `distinct` more tokens
    for each of the desk and the post."""
    env = {**os.environ, "DATABASE_URL": url}
    cli = [sys.executable, "-m", "app.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, cwd=REPO, check=True, capture_output=True)
    code = (
        "import json; import app.models; from app import demo; from app.db import make_engine, "
        "make_sessionmaker; from app.settings import get_settings; "
        "s = make_sessionmaker(make_engine(get_settings().database_url))(); "
        "c = demo.load(s); s.commit(); from app.auth.service import get_user, issue_token; "
        f"more = {{n: [issue_token(s, user=get_user(s, n), name='bench').secret "
        f"for _ in range({distinct})] for n in ('desk', 'hanoi')}}; s.commit(); "
        "print(json.dumps([{x.username: x.token for x in c}, more]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, check=True, capture_output=True, text=True
    )
    tokens, more = json.loads(out.stdout.strip().splitlines()[-1])
    return tokens, more


def signed_in(base: str, username: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=30)
    form = c.get("/login")
    c.post(
        "/login",
        data={
            "username": username,
            "password": f"demo-{username}-2026",
            "csrf_token": CSRF.search(form.text).group(1),  # type: ignore[union-attr]
            "next": "/",
        },
    )
    return c


def rss_kb(pid: int) -> int:
    return _status(pid).get("VmRSS", 0)


class Load:
    def __init__(self, base: str, tokens: dict[str, str], more: dict[str, list[str]]) -> None:
        self.base, self.tokens = base, tokens
        # One shared turn through the extra tokens (next() on a cycle is thread-safe enough
        # for a benchmark: under the GIL each call hands out one item).
        self.more = {who: itertools.cycle(ts) for who, ts in more.items() if ts}
        self.sent = 0
        self.errors = 0
        self.lock = threading.Lock()
        api = httpx.Client(base_url=base, timeout=30)
        desk = {"Authorization": f"Bearer {tokens['desk']}"}
        self.demarche_ids = [
            d["id"] for d in api.get("/api/v1/demarches", headers=desk).json()["items"]
        ]
        hanoi = {"Authorization": f"Bearer {tokens['hanoi']}"}
        self.tasking_ids = [
            t["id"] for t in api.get("/api/v1/taskings", headers=hanoi).json()["items"]
        ]
        api.close()
        self.cable = _a_cable()

    def mix(self, api: httpx.Client, page: httpx.Client, post_page: httpx.Client, desk, hanoi):
        d = itertools.cycle(self.demarche_ids)
        t = itertools.cycle(self.tasking_ids or [1])
        plain = {"content-type": "text/plain"}
        return itertools.cycle(
            [
                lambda: api.get("/api/v1/demarches", headers=desk()),
                lambda: api.get(f"/api/v1/demarches/{next(d)}", headers=desk()),
                lambda: api.get("/api/v1/taskings?overdue=true", headers=desk()),
                lambda: api.get(f"/api/v1/taskings/{next(t)}", headers=hanoi()),
                lambda: api.get("/api/v1/posts", headers=desk()),
                lambda: api.get(f"/api/v1/demarches/{next(d)}/timeline", headers=desk()),
                lambda: page.get("/"),
                lambda: page.get(f"/demarches/{next(d)}"),
                lambda: post_page.get("/inbox"),
                lambda: api.get("/api/v1/demarches/999999", headers=desk()),  # 404
                lambda: api.get("/api/v1/me", headers={"Authorization": "Bearer nope"}),  # 401
                lambda: api.get("/api/v1/demarches?limit=0", headers=desk()),  # 422
                lambda: api.get("/health/live"),
                lambda: api.get("/health/ready"),
                lambda: api.get("/metrics"),
                lambda: api.post(
                    "/api/v1/cables", headers={**desk(), **plain}, content=self.cable
                ),  # stored once, then the dedupe path
            ]
        )

    def client(self, budget: int) -> None:
        api = httpx.Client(base_url=self.base, timeout=30)
        page = signed_in(self.base, "desk")
        post_page = signed_in(self.base, "hanoi")

        def auth(who: str):
            def headers() -> dict[str, str]:
                token = next(self.more[who]) if who in self.more else self.tokens[who]
                return {"Authorization": f"Bearer {token}"}

            return headers

        calls = self.mix(api, page, post_page, auth("desk"), auth("hanoi"))
        for _ in range(budget):
            try:
                failed = next(calls)().status_code >= 500
            except httpx.TransportError:  # a dropped connection; the client opens another
                failed = True
            with self.lock:
                self.sent += 1
                self.errors += failed
        for c in (api, page, post_page):
            c.close()


def _a_cable() -> bytes:
    from tests.cables.samples import instruction

    return instruction(serial="990001").encode()


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=1_000, help="requests before the first figure")
    ap.add_argument("--distinct-tokens", type=int, default=0, metavar="K")
    a = ap.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="demarche-memory-"))
    url = f"sqlite:///{folder / 'memory.db'}"
    tokens, more = prepare(url, a.distinct_tokens)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    log = (folder / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "1"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                print(f"server did not start: see {folder / 'serve.log'}", file=sys.stderr)
                return 2
            time.sleep(0.2)
        load = Load(base, tokens, more)

        def run(n: int) -> None:
            share = [n // a.clients + (i < n % a.clients) for i in range(a.clients)]
            threads = [threading.Thread(target=load.client, args=(s,)) for s in share]
            for th in threads:
                th.start()
            for th in threads:
                th.join()

        run(a.warmup)
        start_kb = rss_kb(proc.pid)
        print(
            f"worker pid {proc.pid}; {a.clients} clients; "
            f"distinct tokens: {a.distinct_tokens or 'no (one per user)'}"
        )
        print(f"{'requests':>9} {'RSS MB':>8} {'+ MB since start':>17} {'+ MB this step':>15}")
        print(f"{0:>9} {start_kb / 1024:>8.1f} {0:>17.2f} {0:>15.2f}")
        done, last_kb = 0, start_kb
        started = time.perf_counter()
        while done < a.requests:
            n = min(STEP, a.requests - done)
            run(n)
            done += n
            kb = rss_kb(proc.pid)
            print(
                f"{done:>9} {kb / 1024:>8.1f} {(kb - start_kb) / 1024:>17.2f} "
                f"{(kb - last_kb) / 1024:>15.2f}",
                flush=True,
            )
            last_kb = kb
        took = time.perf_counter() - started
        print(
            f"{done} requests in {took:.0f} s ({done / took:.0f}/s), {load.errors} server errors or dropped connections; "
            f"+{(last_kb - start_kb) / 1024:.2f} MB, "
            f"{(last_kb - start_kb) / max(done, 1) * STEP / 1024:.2f} MB per {STEP:,} requests"
        )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
