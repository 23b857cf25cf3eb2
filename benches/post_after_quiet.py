#!/usr/bin/env python3
"""The time one POST /channels/{id}/messages takes right after the API sat idle, against
the same POST back to back (issue 5: the first message after a quiet spell is the slowest).

Registers a user, makes a guild, then posts rounds of six messages 0.3 s apart with QUIET
seconds of silence between rounds, and prints each POST's time as the client saw it (ms):

    accord --config <a config on PostgreSQL, rate limits off> api &
    python3 benches/post_after_quiet.py http://127.0.0.1:3201 10 [rounds]
"""
import http.client
import json
import sys
import time
import urllib.parse

base = urllib.parse.urlsplit(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:3001")
quiet = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 4
conn = http.client.HTTPConnection(base.hostname, base.port or 80)


def call(method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = token
    start = time.perf_counter()
    conn.request(method, "/api/v10" + path, json.dumps(body) if body is not None else None, headers)
    resp = conn.getresponse()
    data = resp.read()
    took = (time.perf_counter() - start) * 1000
    if resp.status >= 300:
        sys.exit(f"{method} {path}: {resp.status} {data[:200]!r}")
    return took, json.loads(data) if data else None


name = f"quiet{int(time.time() * 1000) % 10**8}"
_, reg = call("POST", "/auth/register", {"username": name, "password": "post after quiet"})
token = reg["token"]
_, guild = call("POST", "/guilds", {"name": name}, token)
_, channels = call("GET", f"/guilds/{guild['id']}/channels", None, token)
channel = next(c["id"] for c in channels if c["type"] == 0)
for r in range(rounds):
    times = []
    for i in range(6):
        took, _ = call("POST", f"/channels/{channel}/messages", {"content": f"round {r} message {i}"}, token)
        times.append(f"{took:.1f}")
        time.sleep(0.3)
    print(("first round:      " if r == 0 else f"after {quiet:g} s quiet: ") + " ".join(times), flush=True)
    if r + 1 < rounds:
        time.sleep(quiet)
