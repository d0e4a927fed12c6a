#!/usr/bin/env python3
"""Sends one captured Developer request (a JSON body the product built) to a real
OpenAI-compatible server N times, non-streaming, at the given temperature with seeds 1..N, and
saves each reply's text as DIR/reply-K.txt (plus DIR/reply-K.json with the server's usage).
Usage: sample.py REQUEST.json BASE_URL N TEMPERATURE DIR
"""
import json
import sys
import time
import urllib.request

path, base, n, temp, out = sys.argv[1], sys.argv[2].rstrip("/"), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
body = json.load(open(path))
body["stream"] = False
body.pop("stream_options", None)
body["temperature"] = temp
for k in range(1, n + 1):
    body["seed"] = k
    t = time.time()
    req = urllib.request.Request(base + "/v1/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=1800) as r:
        reply = json.load(r)
    text = reply["choices"][0]["message"].get("content") or ""
    open(f"{out}/reply-{k}.txt", "w").write(text)
    meta = {"seconds": round(time.time() - t, 1), "usage": reply.get("usage"),
            "timings": reply.get("timings"), "finish_reason": reply["choices"][0].get("finish_reason"),
            "temperature": temp, "seed": k}
    json.dump(meta, open(f"{out}/reply-{k}.json", "w"), indent=1)
    print(f"{out}/reply-{k}.txt: {len(text)} chars, {meta['seconds']} s, {meta['finish_reason']}", flush=True)
