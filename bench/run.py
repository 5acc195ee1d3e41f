#!/usr/bin/env python3
"""kgate side by side with nginx and HAProxy doing the same job, on one machine, on loopback.

Each proxy terminates TLS (one certificate for all, TLS 1.3 AES-128-GCM preferred, ALPN h2 and
http/1.1), refuses requests without the right Kuscia-Token with 401 and a kuscia-error-message,
and proxies the rest to the same upstream (nginx, keep-alive) with upstream keep-alive and
access logs off. Loads (wrk, h2load, and bench/tls_tool for what they cannot do) run one proxy
at a time, interleaved and repeated; the table reports medians of requests per proxy
CPU-second (CPU from /proc, all processes and threads of the proxy), throughput, p50/p99
latency, full TLS handshakes per CPU-second (none resumed) and memory per idle TLS connection.

Usage: bench/run.py [--seconds 5] [--reps 3] [--workers 2] [--only kgate,nginx,haproxy]
Environment: KGATE_BUILD_DIR (default build), KGATE_BIN (a kgate binary to compare, e.g. an
older build).
The table is printed and appended, with date, versions and machine, to bench/RESULTS.md.
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("KGATE_BUILD_DIR", "build"))  # relative: to the repo
KGATE = os.environ.get("KGATE_BIN", os.path.join(BUILD, "gateway", "kgate"))
TLS_TOOL = os.path.join(BUILD, "bench", "kgate_bench_tls")
UPSTREAM = os.path.join(BUILD, "test", "support", "kgate_test_upstream")
TOKEN = "YmVuY2gtdG9rZW4tMDEyMzQ1Njc4OWFiY2RlZjAxMjM="
CLK = os.sysconf("SC_CLK_TCK")
SMALL_BODY = "hello from the bench upstream\n"
# Connections each proxy may hold, set by fd_limit_for() before any proxy starts.
MAXCONN = 0


def fd_limit_for(idle):
    """Raises the descriptor limit (inherited by the proxies and the clients) to what `idle`
    connections need, where that is allowed (root outside a container), and returns how many
    connections each proxy may hold: one descriptor each, and 500 to spare."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = idle + 200 + 500
    if hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            hard = want
        except (ValueError, OSError) as e:
            print(f"cannot raise the descriptor limit to {want} ({e}): at most "
                  f"{hard - 700} idle connections", file=sys.stderr)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard - 500


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def tree(pid):
    """pid and all its descendants."""
    out, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == parent:
                    out.append(int(entry))
                    frontier.append(int(entry))
            except OSError:
                pass
    return out


def cpu_seconds(pid):
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (all threads)
        except OSError:
            pass
    return total / CLK


def rss_kb(pid):
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class Proxy:
    def __init__(self, name, argv, port, workdir, headers, sink_headers):
        self.name, self.port = name, port
        self.headers, self.sink_headers = headers, sink_headers
        log = open(os.path.join(workdir, name + ".log"), "w")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=log, cwd=workdir)
        wait_port(port)
        time.sleep(0.3)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def setup(work, args, upstream_port, sink_port):
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                    "/CN=bench", "-days", "2", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    with open(os.path.join(work, "haproxy.pem"), "w") as f:
        f.write(open(cert).read() + open(key).read())
    with open(os.path.join(work, "1m.bin"), "wb") as f:
        f.write(bytes(i % 251 for i in range(1 << 20)))
    with open(os.path.join(work, "upload.bin"), "wb") as f:
        f.write(os.urandom(1 << 20))
    return cert, key


def start_upstreams(work, upstream_port, sink_port):
    conf = f"""
worker_processes 1; daemon off; master_process off; error_log {work}/up-error.log;
pid {work}/up.pid; worker_rlimit_nofile 65536;
events {{ worker_connections 16384; }}
http {{
  access_log off; keepalive_requests 1000000; keepalive_timeout 300s;
  server {{
    listen 127.0.0.1:{upstream_port} reuseport backlog=4096;
    location = / {{ default_type text/plain; return 200 "{SMALL_BODY.strip()}\\n"; }}
    location = /1m {{ alias {work}/1m.bin; }}
  }}
}}
"""
    path = os.path.join(work, "upstream.conf")
    with open(path, "w") as f:
        f.write(conf)
    up = subprocess.Popen(["nginx", "-c", path, "-p", work], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    wait_port(upstream_port)
    # The sink (reads and discards uploads) is kgate's test upstream: nginx answers before
    # reading a body, which would measure nothing.
    sink = subprocess.Popen([UPSTREAM, "--listen", f"127.0.0.1:{sink_port}", "--name", "sink"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(sink_port)
    return [up, sink]


def start_kgate(work, args, port, cert, key, upstream_port, sink_port):
    init = subprocess.run([KGATE, "init", "--mode", "autonomy", "--domain", "bench"],
                          check=True, capture_output=True, text=True).stdout
    cfg = os.path.join(work, "kgate.yaml")
    with open(cfg, "w") as f:
        f.write(init + f"""
listenAddress: 127.0.0.1
workers: {args.workers}
dataDir: {work}/kgate-data
accessLog: {{enabled: false}}
tls: {{certFile: {cert}, keyFile: {key}}}
# headerTimeout as nginx's client_header_timeout and HAProxy's `timeout client` below: opening
# the idle run's connections can take longer than kgate's default 10 s on a loaded machine.
limits: {{maxConnections: {MAXCONN}, headerTimeout: 120}}
services:
  echo: http://127.0.0.1:{upstream_port}
  sink: http://127.0.0.1:{sink_port}
tokens:
  peer: ["{TOKEN}"]
""")
    ports = [free_port() for _ in range(3)]
    argv = [KGATE, "start", "-c", cfg, "-p", str(port), "-q", str(ports[0]), "-k",
            str(ports[1]), "-x", str(ports[2])]
    common = [f"Kuscia-Source: peer", f"Kuscia-Token: {TOKEN}"]
    return Proxy("kgate", argv, port, work, common + ["Kuscia-Host: echo.bench.svc"],
                 common + ["Kuscia-Host: sink.bench.svc"])


def start_nginx(work, args, port, cert, key, upstream_port, sink_port):
    check = (f'if ($http_kuscia_token != "{TOKEN}") {{ add_header kuscia-error-message '
             f'"bench/nginx token missing or wrong" always; return 401 "unauthorized.\\n"; }}')
    proxy = ("proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_buffering off; "
             "proxy_request_buffering off; client_max_body_size 0;")
    conf = f"""
worker_processes {args.workers}; daemon off; error_log {work}/nginx-error.log;
pid {work}/nginx.pid; worker_rlimit_nofile 65536;
events {{ worker_connections {MAXCONN}; }}
http {{
  access_log off; keepalive_requests 1000000; client_header_timeout 120s;
  upstream up {{ server 127.0.0.1:{upstream_port}; keepalive 128; }}
  upstream sink {{ server 127.0.0.1:{sink_port}; keepalive 32; }}
  server {{
    listen 127.0.0.1:{port} ssl http2 reuseport backlog=4096;
    ssl_certificate {cert}; ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:SSL:10m;
    location / {{ {check} proxy_pass http://up; {proxy} }}
    location = /sink {{ {check} proxy_pass http://sink; {proxy} }}
  }}
}}
"""
    path = os.path.join(work, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    hdr = [f"Kuscia-Token: {TOKEN}"]
    return Proxy("nginx", ["nginx", "-c", path, "-p", work], port, work, hdr, hdr)


def start_haproxy(work, args, port, cert, key, upstream_port, sink_port):
    conf = f"""
global
  nbthread {args.workers}
  maxconn {MAXCONN}
  # HAProxy wants two descriptors per connection (client and server side) and by default
  # refuses to start without them; idle client connections take one each.
  no strict-limits
  ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
  mode http
  timeout client 120s
  timeout server 120s
  timeout connect 5s
  option http-keep-alive
  http-reuse always
frontend f
  bind 127.0.0.1:{port} ssl crt {work}/haproxy.pem alpn h2,http/1.1
  http-request return status 401 content-type text/plain string "unauthorized." hdr kuscia-error-message "bench/haproxy token missing or wrong" if !{{ req.hdr(kuscia-token) -m str {TOKEN} }}
  use_backend sink if {{ path /sink }}
  default_backend up
backend up
  server u 127.0.0.1:{upstream_port}
backend sink
  server s 127.0.0.1:{sink_port}
"""
    path = os.path.join(work, "haproxy.cfg")
    with open(path, "w") as f:
        f.write(conf)
    hdr = [f"Kuscia-Token: {TOKEN}"]
    return Proxy("haproxy", ["haproxy", "-db", "-f", path], port, work, hdr, hdr)


def curl(proxy, path="/", headers=None, extra=(), out="/dev/null"):
    argv = ["curl", "-sk", "-o", out, "-w", "%{http_code} %{size_download}",
            f"https://127.0.0.1:{proxy.port}{path}"] + list(extra)
    for h in headers if headers is not None else proxy.headers:
        argv += ["-H", h]
    got = subprocess.run(argv, capture_output=True, text=True).stdout.split()
    return int(got[0]), int(got[1])


def check(proxy, work):
    """Every proxy does the same job: refuse without the token, proxy with it, and pass bodies on
    intact both ways. Returns the size of the sink's answer to an upload (its body's length and
    SHA-256, which must be the upload's)."""
    assert curl(proxy, headers=[])[0] == 401, f"{proxy.name} let a request without token through"
    assert curl(proxy) == (200, len(SMALL_BODY)), f"{proxy.name}: wrong answer for /"
    assert curl(proxy, "/1m") == (200, 1 << 20), f"{proxy.name}: wrong answer for /1m"
    upload, answer = os.path.join(work, "upload.bin"), os.path.join(work, "sink-answer.json")
    status, size = curl(proxy, "/sink", proxy.sink_headers, ["--data-binary", f"@{upload}"],
                        answer)
    with open(upload, "rb") as f:
        sent = f.read()
    with open(answer) as f:
        got = json.load(f)
    assert status == 200 and got == {"body_bytes": len(sent),
                                     "body_sha256": hashlib.sha256(sent).hexdigest()}, \
        f"{proxy.name}: the upload did not arrive intact: {status} {got}"
    return size


def body_bytes_error(proxy, path, received, responses, size, in_flight):
    """h2load counts the DATA bytes it received: every response's body in full, and at most the
    part of each stream still in flight when the load stopped. None when that holds."""
    if responses * size <= received <= (responses + in_flight) * size:
        return None
    return (f"{proxy.name} {path}: {received} body bytes for {responses} responses of {size} "
            f"bytes each ({in_flight} more may have been in flight)")


def percentile(values, p):
    values = sorted(values)
    if not values:
        return 0.0
    k = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
    return values[k]


def run_wrk(proxy, seconds):
    argv = ["wrk", "-t1", "-c64", f"-d{seconds}s", "--latency"]
    for h in proxy.headers:
        argv += ["-H", h]
    argv.append(f"https://127.0.0.1:{proxy.port}/")
    out = subprocess.run(argv, capture_output=True, text=True).stdout
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    errors = int(re.search(r"Non-2xx or 3xx responses: (\d+)", out).group(1)) \
        if "Non-2xx" in out else 0
    errors += sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))

    def ms(label):
        m = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        v = float(m.group(1))
        return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
    return {"requests": reqs, "errors": errors, "p50": ms("50"), "p99": ms("99"), "bytes": 0}


def run_h2load(proxy, seconds, path, clients, streams, work, body_size, upload=None, sink=False):
    log = os.path.join(work, "h2load.log")
    if os.path.exists(log):
        os.unlink(log)  # h2load appends; a stale log would mix in the previous proxy's latencies
    argv = ["h2load", f"-c{clients}", f"-m{streams}", "-t1", f"-D{seconds}",
            "--tls13-ciphers=TLS_AES_128_GCM_SHA256",
            f"--log-file={log}"]
    for h in (proxy.sink_headers if sink else proxy.headers):
        argv += ["-H", h]
    if upload:
        argv += ["-d", upload]
    argv.append(f"https://127.0.0.1:{proxy.port}{path}")
    out = subprocess.run(argv, capture_output=True, text=True).stdout
    m = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed", out)
    if not m:
        raise RuntimeError(f"{proxy.name}: h2load said\n{out}")
    done, ok, failed = int(m.group(1)), int(m.group(2)), int(m.group(3))
    codes = re.search(r"status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    non2xx = sum(int(c) for c in codes.groups()) if codes else done
    traffic = re.search(r"traffic: \S+ \((\d+)\) total", out)
    moved = int(traffic.group(1)) if traffic else 0
    data = re.search(r"\((\d+)\) data", out)
    wrong = body_bytes_error(proxy, path, int(data.group(1)) if data else -1, ok, body_size,
                             clients * streams)
    if wrong and not failed + non2xx:  # with failures, those are what the run reports
        raise RuntimeError(wrong)
    if upload:  # h2load's traffic counts what it received; an upload's payload went the other way
        moved = ok * os.path.getsize(upload)
    lat = []
    try:
        with open(log) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3:
                    lat.append(int(parts[2]) / 1000.0)
    except OSError:
        pass
    return {"out": out, "requests": ok, "errors": failed + non2xx, "p50": percentile(lat, 50),
            "p99": percentile(lat, 99), "bytes": moved}


def measure(proxy, fn, perf_out=None):
    perf = None
    if perf_out:  # profile the proxy while the load runs: `perf report -i <file>`
        # DWARF unwinding: a Release kgate has no frame pointers to walk.
        perf = subprocess.Popen(["perf", "record", "--call-graph", "dwarf,16384", "-F", "999",
                                 "-o", perf_out, "-p", str(proxy.proc.pid)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
    before = cpu_seconds(proxy.proc.pid)
    start = time.time()
    result = fn()
    if perf:
        perf.send_signal(2)
        perf.wait(60)
    result["wall"] = time.time() - start
    result["cpu"] = cpu_seconds(proxy.proc.pid) - before
    return result


def run_handshakes(proxy, seconds):
    out = subprocess.run([TLS_TOOL, "handshakes", "127.0.0.1", str(proxy.port), str(seconds), "2"],
                         capture_output=True, text=True)
    counts = dict(line.split() for line in out.stdout.split("\n") if line.strip())
    if int(counts.get("resumed", 1)) != 0:
        raise RuntimeError(f"{proxy.name}: a handshake was resumed; the rate would be wrong")
    return {"requests": int(counts["handshakes"]), "errors": int(counts["failed"]), "p50": 0,
            "p99": 0, "bytes": 0}


def idle_memory(proxy, count):
    base = rss_kb(proxy.proc.pid)
    tool = subprocess.Popen([TLS_TOOL, "idle", "127.0.0.1", str(proxy.port), str(count)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = tool.stdout.readline().split()
    ready = int(line[1]) if len(line) == 2 else 0
    time.sleep(1)
    held = rss_kb(proxy.proc.pid)
    tool.stdin.close()
    tool.wait(60)
    return {"ready": ready, "kib_per_1000": (held - base) * 1000 / max(ready, 1)}


LOADS = [
    ("https_h1_small", "HTTPS HTTP/1.1, 64 conns, GET /", lambda p, a, w: run_wrk(p, a.seconds)),
    ("h2_small", "HTTP/2 TLS, 64 conns x 10 streams, GET /",
     lambda p, a, w: run_h2load(p, a.seconds, "/", 64, 10, w, len(SMALL_BODY))),
    ("h2_1m", "HTTP/2 TLS, 16 conns, GET /1m (1 MiB)",
     lambda p, a, w: run_h2load(p, a.seconds, "/1m", 16, 1, w, 1 << 20)),
    ("h2_upload", "HTTP/2 TLS, 16 conns, POST /sink (1 MiB)",
     lambda p, a, w: run_h2load(p, a.seconds, "/sink", 16, 1, w, a.sink_answer,
                                os.path.join(w, "upload.bin"), True)),
    ("handshakes", "full TLS 1.3 handshakes (RSA-2048), 2 clients",
     lambda p, a, w: run_handshakes(p, a.seconds)),
]


def version(argv):
    r = subprocess.run(argv, capture_output=True, text=True)
    return (r.stdout + r.stderr).strip().splitlines()[0] if (r.stdout + r.stderr).strip() else "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--only", default="kgate,nginx,haproxy")
    ap.add_argument("--perf", metavar="LOAD", help="record `perf` profiles of every proxy "
                    "during LOAD (e.g. h2_small) into the work directory")
    ap.add_argument("--loads", help="comma-separated subset of: " +
                    ",".join(load for load, _, _ in LOADS))
    ap.add_argument("--no-record", action="store_true", help="do not append to bench/RESULTS.md")
    args = ap.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the proxies and upstreams started below are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    global MAXCONN
    MAXCONN = fd_limit_for(args.idle)
    args.idle = min(args.idle, MAXCONN - 200)  # the descriptor limit decides
    names = args.only.split(",")
    work = tempfile.mkdtemp(prefix="kgate-bench-")
    upstream_port, sink_port = free_port(), free_port()
    cert, key = setup(work, args, upstream_port, sink_port)
    procs = start_upstreams(work, upstream_port, sink_port)
    starters = {"kgate": start_kgate, "nginx": start_nginx, "haproxy": start_haproxy}
    proxies = {}
    try:
        for n in names:
            proxies[n] = starters[n](work, args, free_port(), cert, key, upstream_port, sink_port)
            args.sink_answer = check(proxies[n], work)  # the same upstream answers for all
        # Before any load: memory an allocator kept from the loads would otherwise be counted
        # for the allocator that returns it to the system and not for the one that keeps it.
        memory = {n: idle_memory(proxies[n], args.idle) for n in names} if args.idle else {}
        loads = [l for l in LOADS if not args.loads or l[0] in args.loads.split(",")]
        results = {(load, n): [] for load, _, _ in loads for n in names}
        for rep in range(args.reps):
            for load, _, fn in loads:
                for n in names:  # interleaved: a noisy moment hits every proxy alike
                    perf_out = os.path.join(work, f"perf-{n}-{load}.data") \
                        if args.perf == load else None
                    r = measure(proxies[n], lambda: fn(proxies[n], args, work), perf_out)
                    if r["errors"]:
                        print(r.get("out", ""), file=sys.stderr)
                        raise RuntimeError(f"{n} {load}: {r['errors']} errors")
                    results[(load, n)].append(r)
                    print(f"rep {rep + 1} {load:15} {n:8} {r['requests'] / r['wall']:10.0f}/s "
                          f"{r['requests'] / max(r['cpu'], 1e-9):10.0f}/cpu-s p99 {r['p99']:.2f} ms",
                          file=sys.stderr)
    finally:
        for p in proxies.values():
            p.stop()
        for p in procs:
            p.terminate()
            p.wait(10)
        if args.perf:
            print(f"profiles: {work}/perf-*.data (perf report -i FILE)", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

    def med(load, n, f):
        return statistics.median(f(r) for r in results[(load, n)])

    rows = []
    for load, label, _ in loads:
        per_cpu = {n: med(load, n, lambda r: r["requests"] / max(r["cpu"], 1e-9)) for n in names}
        rate = {n: med(load, n, lambda r: r["requests"] / r["wall"]) for n in names}
        p50 = {n: med(load, n, lambda r: r["p50"]) for n in names}
        p99 = {n: med(load, n, lambda r: r["p99"]) for n in names}
        mbs = {n: med(load, n, lambda r: r["bytes"] / r["wall"] / 1e6) for n in names}
        rows.append((label, "requests per proxy CPU-second", per_cpu, True))
        rows.append((label, "requests/s", rate, True))
        if load != "handshakes":
            rows.append((label, "p50 latency ms", p50, False))
            rows.append((label, "p99 latency ms", p99, False))
        if load in ("h2_1m", "h2_upload"):
            rows.append((label, "MB/s", mbs, True))
    if memory:
        rows.append((f"{args.idle} idle TLS connections", "KiB per 1,000 connections",
                     {n: memory[n]["kib_per_1000"] for n in names}, False))

    others = [n for n in names if n != "kgate"]
    head = "| load | metric | " + " | ".join(names) + " | " + \
        " | ".join(f"kgate/{o}" for o in others) + " |"
    lines = [head, "|" + "---|" * (2 + len(names) + len(others))]
    for label, metric, vals, higher_better in rows:
        cells = [f"{vals[n]:.2f}" if vals[n] < 100 else f"{vals[n]:.0f}" for n in names]
        ratios = []
        for o in others:
            if "kgate" in vals and vals[o]:
                ratios.append(f"{vals['kgate'] / vals[o]:.2f}")
            else:
                ratios.append("-")
        lines.append(f"| {label} | {metric} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    # The rounds are interleaved, so round i of kgate and of a peer met the same machine: their
    # ratio per round shows how far one run's medians can be trusted.
    spread = []
    if "kgate" in names and args.reps > 1:
        for load, label, _ in loads:
            cpu = {n: [r["requests"] / max(r["cpu"], 1e-9) for r in results[(load, n)]]
                   for n in names}
            parts = []
            for o in others:
                each = sorted(k / p for k, p in zip(cpu["kgate"], cpu[o]) if p)
                if each:
                    parts.append(f"kgate/{o} {each[0]:.2f}-{each[-1]:.2f}")
            if parts:
                spread.append(f"- {label}: " + ", ".join(parts))
    if spread:
        lines += ["", f"Requests per proxy CPU-second, kgate's ratio in each of the {args.reps} "
                      "rounds (lowest-highest):", ""] + spread
    table = "\n".join(lines)
    print(table)
    if not args.no_record:
        header = (f"\n## {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC\n\n"
                  f"- machine: {platform.node()}, {os.cpu_count()} CPUs, {platform.machine()}, "
                  f"kernel {platform.release()}\n"
                  f"- {version([KGATE, 'version'])}; {version(['nginx', '-v'])}; "
                  f"{version(['haproxy', '-v'])}; {version(['openssl', 'version'])}\n"
                  f"- {args.workers} workers each, {args.seconds} s per load, median of "
                  f"{args.reps} interleaved runs; ratios > 1 favour kgate (latency and memory: "
                  f"< 1 favours kgate)\n\n")
        with open(os.path.join(ROOT, "bench", "RESULTS.md"), "a") as f:
            f.write(header + table + "\n")


if __name__ == "__main__":
    main()
