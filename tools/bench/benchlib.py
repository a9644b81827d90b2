#!/usr/bin/env python3
"""Helpers for tools/bench/run.sh (stdlib only).

Subcommands:
  freeport N                 print N free TCP ports on 127.0.0.1, one per line
  wait-port PORT SECS        exit 0 once 127.0.0.1:PORT accepts a connection
  fetch PROXY URL SECS [CAFILE]
                             GET URL (optionally through PROXY host:port, "-" for
                             none) until it answers 200; prints body length.
                             An https URL goes through a CONNECT tunnel when
                             PROXY is given; its certificate is verified against
                             CAFILE (skipped when CAFILE is missing or "-")
  monitor ROOTPID OUTFILE    sample the process tree rooted at ROOTPID every
                             200 ms until SIGTERM/SIGINT, then write a JSON
                             summary (CPU ticks delta, peak RSS) to OUTFILE
  parse-hey FILE             parse hey's text summary into JSON on stdout
  row ...                    compute one result row (see cmd_row)
  table RESULTS.tsv          print the final markdown table
"""

import json
import os
import re
import signal
import socket
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------
# ports / readiness


def cmd_freeport(args):
    n = int(args[0]) if args else 1
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    for s in socks:
        print(s.getsockname()[1])
    for s in socks:
        s.close()


def cmd_wait_port(args):
    port, secs = int(args[0]), float(args[1])
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return 0
        except OSError:
            time.sleep(0.1)
    return 1


def cmd_fetch(args):
    import http.client
    import urllib.parse

    proxy, url, secs = args[0], args[1], float(args[2])
    cafile = args[3] if len(args) > 3 else "-"
    u = urllib.parse.urlsplit(url)
    deadline = time.monotonic() + secs
    last = "no attempt"
    while time.monotonic() < deadline:
        try:
            if u.scheme == "https":
                conn = _https_conn(proxy, u, cafile)
                conn.request("GET", u.path or "/", headers={"Connection": "close"})
            elif proxy != "-":
                host, port = proxy.rsplit(":", 1)
                conn = http.client.HTTPConnection(host, int(port), timeout=5)
                conn.request("GET", url, headers={"Connection": "close"})
            else:
                conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=5)
                conn.request("GET", u.path or "/", headers={"Connection": "close"})
            resp = conn.getresponse()
            body = resp.read()
            conn.close()
            if resp.status == 200:
                print(len(body))
                return 0
            last = "HTTP %d" % resp.status
        except (OSError, http.client.HTTPException, ValueError) as e:
            last = repr(e)
        time.sleep(0.2)
    print("fetch %s via %s failed: %s" % (url, proxy, last), file=sys.stderr)
    return 1


def _https_conn(proxy, u, cafile):
    """HTTPSConnection to URL parts u, through a CONNECT tunnel if proxy != "-".

    With a CA file, the certificate must chain to it and match u.hostname:
    through an intercepting proxy that proves the proxy minted it."""
    import http.client
    import ssl

    if cafile != "-":
        if not os.path.exists(cafile):
            raise ValueError("CA file %s does not exist (yet)" % cafile)
        ctx = ssl.create_default_context(cafile=cafile)
    else:
        ctx = ssl._create_unverified_context()
    port = u.port or 443
    if proxy == "-":
        return http.client.HTTPSConnection(u.hostname, port, timeout=5, context=ctx)
    host, pport = proxy.rsplit(":", 1)
    conn = http.client.HTTPSConnection(host, int(pport), timeout=5, context=ctx)
    conn.set_tunnel(u.hostname, port)
    return conn


# --------------------------------------------------------------------------
# process tree sampling


def _read_stat(pid):
    """Return (ppid, ticks) where ticks = utime+stime+cutime+cstime."""
    with open("/proc/%d/stat" % pid, "rb") as f:
        data = f.read().decode("ascii", "replace")
    # comm may contain spaces/parens: split after the last ')'.
    rest = data[data.rindex(")") + 2:].split()
    # rest[0] = state (field 3); field N is rest[N-3]
    state = rest[0]
    ppid = int(rest[1])
    utime, stime, cutime, cstime = (int(x) for x in rest[11:15])
    return state, ppid, utime + stime + cutime + cstime


def _status_kb(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree(root):
    """PIDs of root and all its descendants (zombies excluded)."""
    children = {}
    info = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        try:
            state, ppid, ticks = _read_stat(pid)
        except (OSError, ValueError):
            continue
        info[pid] = (state, ticks)
        children.setdefault(ppid, []).append(pid)
    out = []
    stack = [root]
    while stack:
        p = stack.pop()
        if p not in info:
            continue
        if info[p][0] != "Z":
            out.append(p)
        stack.extend(children.get(p, []))
    return out, info


def tree_ticks(root):
    pids, info = tree(root)
    return sum(info[p][1] for p in pids), pids


def cmd_monitor(args):
    root, outfile = int(args[0]), args[1]
    interval = float(args[2]) if len(args) > 2 else 0.2
    stop = {"flag": False}

    def handler(signum, frame):
        stop["flag"] = True

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)

    t0 = time.monotonic()
    ticks0, pids = tree_ticks(root)
    peak_rss_sum = 0
    max_procs = len(pids)
    seen = set(pids)
    last_ticks = ticks0
    while not stop["flag"]:
        ticks, pids = tree_ticks(root)
        if pids:
            last_ticks = ticks
        seen.update(pids)
        max_procs = max(max_procs, len(pids))
        rss = sum(_status_kb(p, "VmRSS") for p in pids)
        peak_rss_sum = max(peak_rss_sum, rss)
        time.sleep(interval)
    ticks1, pids = tree_ticks(root)
    if not pids:
        ticks1 = last_ticks
    rss = sum(_status_kb(p, "VmRSS") for p in pids)
    peak_rss_sum = max(peak_rss_sum, rss)
    hwm_sum = sum(_status_kb(p, "VmHWM") for p in pids)
    res = {
        "wall_s": time.monotonic() - t0,
        "cpu_s": max(0, ticks1 - ticks0) / CLK_TCK,
        "procs": max_procs,
        "pids_seen": len(seen),
        "peak_rss_sampled_kb": peak_rss_sum,
        "hwm_sum_kb": hwm_sum,
        # A single process: the kernel's high-water mark is exact.
        # Several: sum of VmRSS sampled every `interval` (HWMs of different
        # processes need not coincide, so their sum would overstate).
        "peak_rss_kb": hwm_sum if max_procs == 1 else peak_rss_sum,
        "rss_method": "VmHWM" if max_procs == 1 else "sum VmRSS@%gms" % (interval * 1000),
    }
    with open(outfile, "w") as f:
        json.dump(res, f)
    return 0


# --------------------------------------------------------------------------
# hey output


def parse_hey(text):
    r = {}
    m = re.search(r"^\s*Total:\s+([\d.]+) secs", text, re.M)
    r["total_s"] = float(m.group(1)) if m else None
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    r["hey_rps"] = float(m.group(1)) if m else None
    m = re.search(r"Total data:\s+(\d+) bytes", text)
    r["total_bytes"] = int(m.group(1)) if m else None
    for q in ("50", "99"):
        m = re.search(r"^\s*%s%% in ([\d.]+) secs" % q, text, re.M)
        r["p" + q + "_s"] = float(m.group(1)) if m else None
    ok = other = 0
    sc = re.search(r"Status code distribution:\n((?:\s+\[\d+\]\s+\d+ responses\n?)*)", text)
    if sc:
        for code, n in re.findall(r"\[(\d+)\]\s+(\d+) responses", sc.group(1)):
            if code == "200":
                ok += int(n)
            else:
                other += int(n)
    errs = 0
    ed = text.split("Error distribution:", 1)
    if len(ed) == 2:
        for n in re.findall(r"^\s+\[(\d+)\]", ed[1], re.M):
            errs += int(n)
        r["first_error"] = ed[1].strip().splitlines()[0].strip() if ed[1].strip() else ""
    r["ok"] = ok
    r["non200"] = other
    r["errors"] = errs
    return r


def cmd_parse_hey(args):
    with open(args[0]) as f:
        print(json.dumps(parse_hey(f.read())))
    return 0


# --------------------------------------------------------------------------
# rows and table

COLUMNS = ["target", "workers", "case", "conns", "req/s", "p50 ms", "p99 ms",
           "MB/s", "errors", "peak RSS MiB", "CPU us/req", "vs direct"]


def _fmt(x, nd):
    if x is None:
        return "-"
    return "%.*f" % (nd, x)


def cmd_row(args):
    """row TARGET WORKERS CASE CONNS SIZE HEYFILE MONFILE|- DIRECT_RPS|-

    Prints one TSV line (fields as COLUMNS) plus a trailing raw req/s field."""
    target, workers, case, conns, size, heyfile, monfile, direct = args
    size = int(size)
    with open(heyfile) as f:
        h = parse_hey(f.read())
    total = h["total_s"] or 0.0
    ok = h["ok"]
    rps = ok / total if total > 0 else 0.0
    if h["total_bytes"] is not None and total > 0:
        mbps = h["total_bytes"] / total / 1e6
    else:
        mbps = rps * size / 1e6
    errors = h["errors"] + h["non200"]
    rss = cpu = None
    if monfile != "-" and os.path.exists(monfile):
        with open(monfile) as f:
            m = json.load(f)
        rss = m["peak_rss_kb"] / 1024.0
        cpu = (m["cpu_s"] * 1e6 / ok) if ok else None
    ratio = None
    if direct not in ("-", "") and float(direct) > 0:
        ratio = rps / float(direct)
    fields = [
        target, workers, case, conns,
        _fmt(rps, 0),
        _fmt(h["p50_s"] * 1000 if h["p50_s"] is not None else None, 1),
        _fmt(h["p99_s"] * 1000 if h["p99_s"] is not None else None, 1),
        _fmt(mbps, 1),
        str(errors),
        _fmt(rss, 1),
        _fmt(cpu, 1),
        _fmt(ratio, 2) if ratio is not None else "-",
    ]
    print("\t".join(fields + ["%.3f" % rps]))
    if errors and h.get("first_error"):
        print("warning: %s %s: %d errors, first: %s" % (target, case, errors, h["first_error"]),
              file=sys.stderr)
    return 0


def _median(values):
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def _aggregate(group):
    """One row for several rounds of one (target, workers, case): the median of each measure,
    errors summed, the highest peak RSS; CPU us/req also shows its range, the spread between
    rounds being the noise to read any difference against."""
    out = list(group[0])
    for i in range(4, len(COLUMNS)):
        name = COLUMNS[i]
        nums = []
        for r in group:
            try:
                nums.append(float(r[i]))
            except ValueError:
                pass
        if not nums:
            continue
        nd = 2 if name == "vs direct" else 0 if name in ("req/s", "errors") else 1
        if name == "errors":
            out[i] = "%d" % sum(nums)
        elif name == "peak RSS MiB":
            out[i] = _fmt(max(nums), nd)
        elif name == "CPU us/req" and len(nums) > 1:
            out[i] = "%s (%s-%s)" % (_fmt(_median(nums), nd), _fmt(min(nums), nd), _fmt(max(nums), nd))
        else:
            out[i] = _fmt(_median(nums), nd)
    return out


def cmd_table(args):
    """table RESULTS_TSV: a markdown table. Rows repeated for the same target, workers and case
    (several rounds) become one row of medians."""
    groups = {}
    with open(args[0]) as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                r = line.split("\t")[:len(COLUMNS)]
                groups.setdefault(tuple(r[:3]), []).append(r)
    rows = [g[0] if len(g) == 1 else _aggregate(g) for g in groups.values()]
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c)
              for i, c in enumerate(COLUMNS)]
    numeric = set(range(3, len(COLUMNS)))

    def line(cells):
        out = []
        for i, c in enumerate(cells):
            out.append(c.rjust(widths[i]) if i in numeric else c.ljust(widths[i]))
        return "| " + " | ".join(out) + " |"

    print(line(COLUMNS))
    print("|" + "|".join(("-" * (w + 1) + ":") if i in numeric else ("-" * (w + 2))
                         for i, w in enumerate(widths)) + "|")
    for r in rows:
        print(line(r))
    return 0


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {
        "freeport": cmd_freeport,
        "wait-port": cmd_wait_port,
        "fetch": cmd_fetch,
        "monitor": cmd_monitor,
        "parse-hey": cmd_parse_hey,
        "row": cmd_row,
        "table": cmd_table,
    }.get(cmd)
    if fn is None:
        print("unknown subcommand %r" % cmd, file=sys.stderr)
        return 2
    return fn(args) or 0


if __name__ == "__main__":
    sys.exit(main())
