#!/usr/bin/env python3
"""apikeys benchmarks: turns the raw results of tools/bench.sh into one table of ratios (Markdown).

Every ratio compares numbers from the same process and the same run; times are the medians of the
repetitions (CPU time for in-process work, wall time for loopback round trips)."""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys


def load(path):
    """{benchmark name: median aggregate} from a Google Benchmark JSON file, or {} when it is missing."""
    if not path or not os.path.exists(path):
        return {}, {}
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name = b.get("run_name", b["name"]).split("/iterations:")[0].split("/real_time")[0]
        out[name] = b
    return out, data.get("context", {})


def ns(b):
    """CPU time of one iteration in ns."""
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
    return b["cpu_time"] * scale


def fmt_ns(v):
    return f"{v / 1000:.2f} µs" if v >= 10_000 else f"{v:.0f} ns"


def mark(ok):
    return "yes" if ok else "**no**"


def decode_rows(res, title):
    lines = [f"#### {title}", "",
             "| answer | bytes | apikeys | simdjson by hand | nlohmann | apikeys ÷ by hand (≤ 1.2) | nlohmann ÷ apikeys (≥ 9) "
             "| allocs/op apikeys · by hand · nlohmann | heap blocks in result (allocs allowed) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for shape, label in [("create", "create answer"), ("list20", "20-key list"), ("list1000", "1,000-key list"),
                         ("error", "error body (classify)"), ("login", "login answer")]:
        a, h, n = (res.get(f"decode/{shape}/{v}") for v in ("apikeys", "simdjson", "nlohmann"))
        if not (a and h and n):
            continue
        r_hand, r_nl = ns(a) / ns(h), ns(n) / ns(a)
        allowed = a.get("result_heap_blocks", float("nan"))
        allocs = f"{a['allocs/op']:.0f} · {h['allocs/op']:.0f} · {n['allocs/op']:.0f}"
        lines.append(f"| {label} | {a['body_bytes']:,.0f} | {fmt_ns(ns(a))} | {fmt_ns(ns(h))} | {fmt_ns(ns(n))} "
                     f"| {r_hand:.2f}× {mark(r_hand <= 1.2)} | {r_nl:.1f}× {mark(r_nl >= 9)} | {allocs} "
                     f"| {allowed:.0f} {mark(a['allocs/op'] <= allowed + 0.01)} |")
    return lines + [""]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dir", required=True, help="where tools/bench.sh wrote its results")
    ap.add_argument("--reps", default="?", help="repetitions per benchmark, for the caption")
    args = ap.parse_args()
    d = args.dir
    res, ctx = load(os.path.join(d, "bench.json"))
    loop, _ = load(os.path.join(d, "loopback.json"))
    native, _ = load(os.path.join(d, "bench-native.json"))

    out = ["### apikeys benchmarks", ""]
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gxx = subprocess.run(["g++", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    out.append(f"Machine: {cpu or platform.processor()}, {ctx.get('num_cpus', os.cpu_count())} CPUs "
               f"at {ctx.get('mhz_per_cpu', 0)} MHz, load average at start "
               f"{', '.join(f'{x:.2f}' for x in ctx.get('load_avg', []))}; {gxx}, -O2; "
               f"{ctx.get('date', '')}. Times are medians of {args.reps} repetitions; "
               "every ratio compares runs of the same process.")
    out.append("")

    if res:
        out += decode_rows(res, "1. Decoding (default flags: simdjson's fallback kernel)")
    if native:
        out += decode_rows(native, "1b. Decoding with -march=native (simdjson picks its kernel for this CPU)")

    if res:
        out += ["#### 2. Building requests", "",
                "| operation | fresh | allocs/op | reused buffers | allocs/op |", "|---|---:|---:|---:|---:|"]
        for op in ["create", "fetch", "fetch_all", "enable", "disable", "remove", "login"]:
            f, r = res.get(f"build/{op}/fresh"), res.get(f"build/{op}/reused")
            if f and r:
                out.append(f"| {op} | {fmt_ns(ns(f))} | {f['allocs/op']:.0f} | {fmt_ns(ns(r))} | {r['allocs/op']:.0f} |")
        out.append("")

    if res:
        rtt = {}
        for op in ["fetch_all", "fetch", "create", "enable"]:
            b = loop.get(f"loopback/httplib/fixed/{op}")
            if b:
                rtt[op] = b["raw_p50_us"] * 1000
        ref = rtt.get("fetch")
        out += ["#### 3. The library's own cost per call (in-memory transport answering at once)", "",
                "`own` = client call − the transport's own work (copying its prebuilt answer), measured alike. "
                "Round trip: the raw adapter's median over loopback (section 4) for that operation, else fetch's.", "",
                "| operation | client call | transport alone | own cost (< 1 µs) | own allocs/op | own ÷ loopback round trip (< 1 %) |",
                "|---|---:|---:|---:|---:|---:|"]
        for op in ["create", "fetch", "fetch_all", "enable", "disable", "remove", "fetch_missing", "login"]:
            c, t = res.get(f"client/{op}"), res.get(f"transport/{op}")
            if not (c and t):
                continue
            own = ns(c) - ns(t)
            own_allocs = c["allocs/op"] - t["allocs/op"]
            share = ""
            base = rtt.get(op, ref)
            if base:
                pct = 100 * own / base
                share = f"{pct:.2f} % {mark(pct < 1)}"
            out.append(f"| {op} | {fmt_ns(ns(c))} | {fmt_ns(ns(t))} | {fmt_ns(own)} {mark(own < 1000)} "
                       f"| {own_allocs:.0f} | {share} |")
        out.append("")
        logged = [(op, sink) for op in ["fetch", "create"] for sink in ["trace", "warn"] if res.get(f"client/{op}/noop_sink_{sink}")]
        if logged:
            out += ["#### 3b. Logging: the same call with a sink that discards every event", "",
                    "Baseline: the call with no sink (client/<op> above, same run). `trace`: every event built and "
                    "handed to the sink; `warn`: the sink is on, but a successful call's events are below it.", "",
                    "| operation | no sink | no-op sink | sink level | ratio | extra per call | extra allocs/op |",
                    "|---|---:|---:|---|---:|---:|---:|"]
            for op, sink in logged:
                c, s = res.get(f"client/{op}"), res[f"client/{op}/noop_sink_{sink}"]
                if not c:
                    continue
                out.append(f"| {op} | {fmt_ns(ns(c))} | {fmt_ns(ns(s))} | {sink} | {ns(s) / ns(c):.2f}× "
                           f"| {fmt_ns(ns(s) - ns(c))} | {s['allocs/op'] - c['allocs/op']:.0f} |")
            out.append("")

    if loop:
        out += ["#### 4. Over loopback HTTP (each adapter, one keep-alive connection, calls interleaved)", "",
                "raw: the adapter alone sending the client's bytes; minimal: raw + a hand-written simdjson decode; "
                "client: the apikeys call. Wall-clock medians (p50) and p99 over 1,000 calls each, per repetition.", "",
                "| adapter / server / operation | raw p50 | minimal p50 | client p50 | client ÷ raw (≤ 1.02) | client ÷ minimal "
                "| raw p99 | client p99 | allocs/op raw · client |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for adapter, server, op in [(a, s, o) for a in ["httplib", "curl"] for s in ["fixed", "emulator"]
                                    for o in ["fetch_all", "fetch", "create", "enable"]]:
                b = loop.get(f"loopback/{adapter}/{server}/{op}")
                if not b:
                    continue
                r = b["client/raw_p50"]
                out.append(f"| {adapter} / {server} / {op} | {b['raw_p50_us']:.1f} µs | {b['minimal_p50_us']:.1f} µs "
                           f"| {b['client_p50_us']:.1f} µs | {r:.3f} {mark(r <= 1.02)} | {b['client/minimal_p50']:.3f} "
                           f"| {b['raw_p99_us']:.1f} µs | {b['client_p99_us']:.1f} µs "
                           f"| {b['raw_allocs/op']:.0f} · {b['client_allocs/op']:.0f} |")
        out.append("")

    compile_path = os.path.join(d, "compile.txt")
    if os.path.exists(compile_path):
        runs = {}
        for line in open(compile_path):
            parts = line.split()
            if len(parts) == 4 and not line.startswith("#"):
                unit, _, wall, cpu_s = parts
                runs.setdefault(unit, []).append((float(wall), float(cpu_s)))
        if runs:
            med = {u: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v), len(v))
                   for u, v in runs.items()}
            yard = med.get("simdjson+fmt")
            out += ["#### 5. Compile time (g++ -std=c++20 -O2 -c, units compiled in turn, median)", "",
                    "CPU = user + system time of the compiler, steadier than wall time on a shared machine.", "",
                    "| unit | wall | CPU | CPU − simdjson+fmt (≤ 1.0 s) | target ≤ 2.5 s |", "|---|---:|---:|---:|---:|"]
            for unit, label in [("apikeys", "`<apikeys/apikeys.hpp>`, six operations used"),
                                ("single-header", "single header, the same unit"),
                                ("separate", "the same unit with `APIKEYS_SEPARATE_COMPILATION` (apikeys::compiled)"),
                                ("simdjson+fmt", "`<simdjson.h>` + `<fmt/format.h>` only"),
                                ("include-only", "`<apikeys/apikeys.hpp>` included, nothing used")]:
                if unit not in med:
                    continue
                w, c, n = med[unit]
                diff = ""
                target = ""
                if yard and unit != "simdjson+fmt":
                    delta = c - yard[1]
                    diff = f"{delta:+.2f} s {mark(delta <= 1.0)}"
                if unit in ("apikeys", "single-header", "separate"):
                    target = mark(c <= 2.5)
                out.append(f"| {label} | {w:.2f} s | {c:.2f} s | {diff} | {target} |")
            out.append("")
    print("\n".join(out))


if __name__ == "__main__":
    sys.exit(main())
