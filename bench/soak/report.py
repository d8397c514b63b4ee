#!/usr/bin/env python3
"""The summary of a bench/soak.sh run: report.py OUT_DIR.

Reads OUT_DIR/meta.env, samples.csv, wrk.txt, wrk-baseline.txt and one
NAME.json per attacker (see bench/soak/attack.py); prints the summary block,
writes OUT_DIR/summary.json, and exits 0 when the normal client saw no error
and the peak RSS stayed under max_rss_mib, 1 otherwise.
"""

import csv
import json
import os
import re
import sys


def read_meta(out):
    meta = {}
    with open(os.path.join(out, "meta.env")) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("=")
            meta[key] = value
    return meta


def read_wrk(path):
    """The SOAK line of bench/soak/normal.lua, or None."""
    try:
        text = open(path).read()
    except OSError:
        return None
    match = re.search(r"^SOAK (.*)$", text, re.M)
    if not match:
        return None
    fields = dict(kv.split("=") for kv in match.group(1).split())
    wrk = {k: float(v) if "." in v else int(v) for k, v in fields.items()}
    wrk["socket_errors"] = wrk["connect"] + wrk["read"] + wrk["write"] + wrk["timeout"]
    wrk["errors"] = wrk["socket_errors"] + wrk["non2xx"]
    return wrk


def read_samples(out, start, end):
    rows = []
    with open(os.path.join(out, "samples.csv")) as f:
        for row in csv.DictReader(f):
            try:
                t = float(row["t"])
                rows.append((t, int(row["rss_kb"]), int(row["connections"]), int(row["established"])))
            except (ValueError, TypeError):
                continue
    return [r for r in rows if start <= r[0] <= end]


def parse_sample(text):
    try:
        t, rss, conns, estab = text.split(",")
        return {"rss_kb": int(rss), "connections": int(conns), "established": int(estab)}
    except ValueError:
        return None


def mib(kb):
    return "%.1f MiB" % (kb / 1024) if kb is not None else "?"


def wrk_line(wrk):
    if wrk is None:
        return "no result (see the wrk log)"
    return "%.0f req/s, p50 %.2f ms, p99 %.2f ms, max %.1f ms, %d requests; errors %d (socket %d: connect %d read %d write %d timeout %d; non-2xx %d)" % (
        wrk["rps"], wrk["p50_us"] / 1000, wrk["p99_us"] / 1000, wrk["max_us"] / 1000, wrk["requests"],
        wrk["errors"], wrk["socket_errors"], wrk["connect"], wrk["read"], wrk["write"], wrk["timeout"], wrk["non2xx"],
    )


def main():
    out = sys.argv[1]
    meta = read_meta(out)
    attacks = meta.get("attacks", "").split()
    normal = read_wrk(os.path.join(out, "wrk.txt"))
    baseline = read_wrk(os.path.join(out, "wrk-baseline.txt")) if int(meta.get("baseline", 0)) else None
    start = float(meta.get("attack_start", 0))
    end = float(meta.get("attack_end", 1e18))
    samples = read_samples(out, start, end)
    end_sample = parse_sample(meta.get("end_sample", ""))
    after_sample = parse_sample(meta.get("after_sample", ""))
    hwm = int(meta["vmhwm_kb"]) if meta.get("vmhwm_kb") else None
    max_rss = max((s[1] for s in samples), default=None)
    max_conns = max((s[2] for s in samples), default=None)
    max_estab = max((s[3] for s in samples), default=None)

    results = {}
    for name in attacks:
        try:
            results[name] = json.load(open(os.path.join(out, name + ".json")))
        except (OSError, ValueError):
            results[name] = None

    lines = []
    add = lines.append
    add("=" * 78)
    add("Postern soak: %s s of normal load + attackers [%s]" % (meta.get("duration"), " ".join(attacks) or "none"))
    add("server: %s" % meta.get("server"))
    add("normal client (%s):" % meta.get("wrk"))
    add(("  under attack: " if attacks else "  alone: ") + wrk_line(normal))
    if baseline is not None:
        add("  baseline (%s s alone): %s" % (meta.get("baseline"), wrk_line(baseline)))
    def cpu(prefix, start_key, end_key):
        try:
            ticks = int(meta[end_key]) - int(meta[start_key])
            seconds = float(meta[prefix + "end"]) - float(meta[prefix + "start"])
            return "%.1f s of CPU in %.1f s (%.0f%% of one core)" % (
                ticks / int(meta["clk_tck"]), seconds, 100 * ticks / int(meta["clk_tck"]) / seconds)
        except (KeyError, ValueError, ZeroDivisionError):
            return "?"

    add("server CPU: under attack %s; baseline %s; load average before the run: %s" % (
        cpu("attack_", "cpu_start", "cpu_end"),
        cpu("baseline_", "baseline_cpu_start", "baseline_cpu_end") if baseline is not None else "-",
        meta.get("loadavg", "?")))
    add("server memory: peak RSS %s (VmHWM, whole run); max VmRSS sampled under attack %s; %s at the end, %s 3 s after the attackers left" % (
        mib(hwm), mib(max_rss), mib(end_sample and end_sample["rss_kb"]), mib(after_sample and after_sample["rss_kb"])))
    add("server open connections (socket fds less those of the idle server / ss established): max %s / %s; at the end of the load %s / %s; 3 s after the attackers left %s / %s" % (
        max_conns, max_estab,
        end_sample and end_sample["connections"], end_sample and end_sample["established"],
        after_sample and after_sample["connections"], after_sample and after_sample["established"]))
    add("server still running at the end: %s" % meta.get("server_alive", "?"))
    closed_total = 0
    add("attackers (opened = connections over the run; closed = by the server; life = then how the server ended them and how long it let them live):")
    for name in attacks:
        r = results[name]
        if r is None:
            add("  %-15s no result (see %s.log)" % (name, name))
            continue
        closed_total += r["closed_by_server"]
        add("  %-15s %4d conns: opened %d, closed by server %d, open at the end %d, max open %d, connect errors %d; attacker CPU %s s" % (
            name, r["target_conns"], r["opened"], r["closed_by_server"], r["closed_by_us_at_end"], r["max_open"],
            r["connect_errors"], r.get("cpu_s", "?")))
        for outcome, o in r["outcomes"].items():
            add("  %-15s   ended by %s: %d, after median %s s, p99 %s s, max %s s" % (
                "", outcome, o["count"], o["median_s"], o["p99_s"], o["max_s"]))
        if r.get("counters"):
            add("  %-15s %s" % ("", ", ".join("%s %d" % kv for kv in sorted(r["counters"].items()))))
    add("attack connections closed by the server: %d" % closed_total)

    failures = []
    if normal is None:
        failures.append("no normal-client result")
    elif normal["errors"]:
        failures.append("%d normal-client errors" % normal["errors"])
    limit_kb = int(meta.get("max_rss_mib", 512)) * 1024
    if hwm is None:
        failures.append("no VmHWM (did the server die?)")
    elif hwm > limit_kb:
        failures.append("peak RSS %s over %s MiB" % (mib(hwm), meta.get("max_rss_mib")))
    if meta.get("server_alive") != "yes":
        failures.append("the server was not running at the end")
    missing = [n for n in attacks if results[n] is None]
    if missing:
        failures.append("no result from " + ", ".join(missing))
    add("verdict: " + ("PASS (0 normal-client errors, peak RSS under %s MiB)" % meta.get("max_rss_mib") if not failures else "FAIL: " + "; ".join(failures)))
    add("=" * 78)
    print("\n".join(lines))

    summary = {
        "meta": meta,
        "normal": normal,
        "baseline": baseline,
        "server": {
            "vmhwm_kb": hwm,
            "max_rss_kb_sampled": max_rss,
            "end": end_sample,
            "after": after_sample,
            "max_connections": max_conns,
            "max_established": max_estab,
        },
        "attacks": results,
        "attack_connections_closed_by_server": closed_total,
        "failures": failures,
    }
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
