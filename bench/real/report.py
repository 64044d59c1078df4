#!/usr/bin/env python3
"""Summarises a bench/real/run.sh work directory: runs.jsonl (one line per measured wrk run) and,
in soak mode, soak.csv. Prints a table, writes results.md and results.json beside them.
Exit 1 when a run saw wrk errors or the soak grew beyond the tolerance."""
import argparse
import csv
import json
import statistics
import sys
from pathlib import Path

ap = argparse.ArgumentParser()
ap.add_argument("--work", required=True)
ap.add_argument("--soak", type=int, default=0)
ap.add_argument("--soak-rss-tolerance", type=float, default=5.0)
ap.add_argument("--context", default="")
ap.add_argument("--versions", default="")
ap.add_argument("--connections", type=int, default=16)
ap.add_argument("--valgrind", action="store_true",
                help="the meshsim processes ran under valgrind: RSS and fds are valgrind's, no growth verdict")
a = ap.parse_args()
work = Path(a.work)
runs = [json.loads(l) for l in (work / "runs.jsonl").read_text().splitlines() if l.strip()]
ok = True
out = []
result = {"context": a.context, "versions": a.versions, "runs": runs}
ERRS = ("errors_connect", "errors_read", "errors_write", "errors_status", "errors_timeout")


def rps(r):
    return r["requests"] / (r["duration_us"] / 1e6)


def errors(r):
    return {k[7:]: r[k] for k in ERRS if r[k]}


out.append(f"context: {a.context}")
out.append(f"versions: {a.versions}")
out.append("")

if a.soak == 0:
    order = []
    for r in runs:
        if r["path"] not in order:
            order.append(r["path"])
    summary = {}
    for p in order:
        rs = [r for r in runs if r["path"] == p]
        s = {
            "rounds": len(rs),
            "requests_per_s": statistics.median(rps(r) for r in rs),
            "requests_per_s_all": [round(rps(r)) for r in rs],
            "p50_us": statistics.median(r["lat_p50_us"] for r in rs),
            "p99_us": statistics.median(r["lat_p99_us"] for r in rs),
            "proxy_cpu_us_per_request": statistics.median(r["proxy_cpu_s"] * 1e6 / r["requests"] for r in rs) if p != "direct" else None,
            "backend_cpu_us_per_request": statistics.median(r["backend_cpu_s"] * 1e6 / r["requests"] for r in rs),
            "machine_busy": statistics.median(r["machine_busy"] for r in rs),
            "errors": {},
        }
        for r in rs:
            for k, v in errors(r).items():
                s["errors"][k] = s["errors"].get(k, 0) + v
        if s["errors"]:
            ok = False
        summary[p] = s
    result["summary"] = summary
    hdr = "| path | requests/s | p50 | p99 | CPU of the two proxies per request | machine busy | errors |"
    out += [hdr, "|---|---|---|---|---|---|---|"]
    for p, s in summary.items():
        allr = "" if s["rounds"] == 1 else " (" + ", ".join(f"{x:,}" for x in s["requests_per_s_all"]) + ")"
        cpu = "—" if s["proxy_cpu_us_per_request"] is None else f"{s['proxy_cpu_us_per_request']:.1f} µs"
        err = ", ".join(f"{k} {v}" for k, v in s["errors"].items()) or "0"
        out.append(f"| {p} | {s['requests_per_s']:,.0f}{allr} | {s['p50_us'] / 1000:.2f} ms | "
                   f"{s['p99_us'] / 1000:.2f} ms | {cpu} | {s['machine_busy'] * 100:.0f} % | {err} |")
    ratios = {}

    def ratio(num, den):
        if num in summary and den in summary:
            n, d = summary[num], summary[den]
            ratios[f"{num}/{den}"] = {
                "requests_per_s": n["requests_per_s"] / d["requests_per_s"],
                "p50": n["p50_us"] / d["p50_us"] if d["p50_us"] else None,
                "p99": n["p99_us"] / d["p99_us"] if d["p99_us"] else None,
            }
            if n["proxy_cpu_us_per_request"] and d["proxy_cpu_us_per_request"]:
                ratios[f"{num}/{den}"]["proxy_cpu_per_request"] = (
                    n["proxy_cpu_us_per_request"] / d["proxy_cpu_us_per_request"])

    ratio("meshsim", "haproxy")
    ratio("meshsim", "direct")
    ratio("haproxy", "direct")
    result["ratios"] = ratios
    if ratios:
        out += ["", "| ratio | requests/s | p50 | p99 | proxy CPU per request |", "|---|---|---|---|---|"]
        for k, v in ratios.items():
            f = lambda x: "—" if x is None else f"{x:.2f}×"
            out.append(f"| {k} | {f(v['requests_per_s'])} | {f(v['p50'])} | {f(v['p99'])} | "
                       f"{f(v.get('proxy_cpu_per_request'))} |")
    loads = [r["loadavg_before"] for r in runs]
    out += ["", f"load average before the runs: {min(loads):.2f}–{max(loads):.2f}"]
else:
    every = list(csv.DictReader((work / "soak.csv").open()))
    rows = [x for x in every if x["phase"] == "during"]
    before = [x for x in every if x["phase"] == "before"]
    after = [x for x in every if x["phase"] == "after"]
    third = max(1, len(rows) // 3)
    first, last = rows[:third], rows[-third:]
    soak = {"samples": len(rows), "third": third, "processes": {}}
    r = runs[0] if runs else None
    if r:
        soak["requests_per_s"] = rps(r)
        soak["requests"] = r["requests"]
        soak["errors"] = errors(r)
        soak["p50_us"], soak["p99_us"] = r["lat_p50_us"], r["lat_p99_us"]
        if soak["errors"]:
            ok = False
    else:
        ok = False
    out.append(f"soak: {len(rows)} samples under load, 1 per second; first third = seconds "
               f"{rows[0]['t_s']}–{rows[third - 1]['t_s']}, last third = seconds "
               f"{rows[-third]['t_s']}–{rows[-1]['t_s']}")
    if r:
        out.append(f"wrk: {r['requests']:,} requests, {rps(r):,.0f}/s, p50 {r['lat_p50_us'] / 1000:.2f} ms, "
                   f"p99 {r['lat_p99_us'] / 1000:.2f} ms, errors {soak['errors'] or 0}")
    out += ["", "| process | RSS first third (mean) | RSS last third (mean) | growth | RSS min–max | fds first third (max) | fds last third (max) | verdict | idle before → after: RSS, fds |",
            "|---|---|---|---|---|---|---|---|---|"]
    for who in ("client", "server"):
        rss = lambda rs: statistics.mean(int(x[f"{who}_rss_kb"]) for x in rs)
        fds = lambda rs: max(int(x[f"{who}_fds"]) for x in rs)
        all_rss = [int(x[f"{who}_rss_kb"]) for x in rows]
        g = (rss(last) / rss(first) - 1) * 100
        grew = g > a.soak_rss_tolerance or fds(last) > fds(first)
        if grew and not a.valgrind:
            ok = False
        soak["processes"][who] = {
            "rss_kb_first_third_mean": rss(first), "rss_kb_last_third_mean": rss(last),
            "rss_growth_pct": g, "rss_kb_min": min(all_rss), "rss_kb_max": max(all_rss),
            "fds_first_third_max": fds(first), "fds_last_third_max": fds(last),
            "grew": grew}
        idle = "—"
        if before and after:
            b, f = before[0], after[0]
            soak["processes"][who].update(
                idle_before_rss_kb=int(b[f"{who}_rss_kb"]), idle_after_rss_kb=int(f[f"{who}_rss_kb"]),
                idle_before_fds=int(b[f"{who}_fds"]), idle_after_fds=int(f[f"{who}_fds"]))
            idle = (f"{int(b[f'{who}_rss_kb']) / 1024:.1f} → {int(f[f'{who}_rss_kb']) / 1024:.1f} MiB, "
                    f"{b[f'{who}_fds']} → {f[f'{who}_fds']}")
        out.append(f"| meshsim proxy ({who}) | {rss(first) / 1024:.1f} MiB | {rss(last) / 1024:.1f} MiB | "
                   f"{g:+.2f} % | {min(all_rss) / 1024:.1f}–{max(all_rss) / 1024:.1f} MiB | {fds(first)} | "
                   f"{fds(last)} | {'n/a (valgrind)' if a.valgrind else 'GROWS' if grew else 'no growth'} | {idle} |")
    out.append(f"\n(growth fails above {a.soak_rss_tolerance} % RSS or any rise of the fd maximum under load; "
               f"idle = 1 s before wrk starts and 1 s after it ends: pooled upstream connections may stay "
               f"open; samples in soak.csv)")
    result["soak"] = soak

# The meshsim server sidecar's own count of what it served (istio_requests_total, reporter
# destination) against what was sent through the pair: every wrk run's completed requests
# (warm-ups included), the check's curl and the openssl s_client probe. wrk stops with up to one
# request per connection in flight, which the server may still count.
prom = work / "meshsim-server-prometheus.txt"
if prom.exists():
    import re
    mtls = dc = other = 0
    for line in prom.read_text().splitlines():
        if line.startswith("istio_requests_total{"):
            n = int(float(line.rsplit(" ", 1)[1]))
            if 'connection_security_policy="mutual_tls"' in line and 'response_code="200"' in line \
                    and 'source_principal="spiffe://cluster.local/ns/default/sa/curl"' in line:
                mtls += n
            elif 'response_flags="DC"' in line and 'response_code="0"' in line:
                dc += n  # the client (wrk, stopping) closed with the request in flight
            else:
                other += n
    sent = 2
    wrk_runs = 0
    for f in work.glob("wrk-meshsim-*.txt"):
        for line in f.read_text().splitlines():
            if line.startswith("WRKJSON "):
                sent += json.loads(line[8:])["requests"]
                wrk_runs += 1
    slack = wrk_runs * a.connections
    good = sent <= mtls and mtls + dc <= sent + slack and other == 0
    result["meshsim_server_account"] = {"mutual_tls_200_from_curl": mtls, "downstream_closed": dc, "other": other,
                                        "sent": sent, "in_flight_slack": slack, "ok": good}
    out.append("")
    out.append(f"meshsim server sidecar, istio_requests_total (reporter destination): {mtls:,} requests "
               f"200 over mutual_tls from spiffe://cluster.local/ns/default/sa/curl, {dc} closed by wrk "
               f"in flight (DC), {other} others; "
               f"sent {sent:,} (+ up to {slack} in flight when wrk stopped): "
               f"{'consistent' if good else 'INCONSISTENT'}")
    if not good:
        ok = False

text = "\n".join(out) + "\n"
print(text, end="")
(work / "results.md").write_text(text)
(work / "results.json").write_text(json.dumps(result, indent=2) + "\n")
print(f"results: {work / 'results.md'}, {work / 'results.json'}")
sys.exit(0 if ok else 1)
