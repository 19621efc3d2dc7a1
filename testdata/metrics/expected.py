#!/usr/bin/env python3
"""Works out every metric figure of the fixture from calls.csv, config.yaml (written as JSON, which
is YAML too) and periods.csv, independently of the Go code, and writes expected.csv:
period, slice, figure, value, arithmetic. Python 3 standard library only.

The definitions are product.md's, made exact in edge/metrics/doc.go; this script restates them in
its own words and code. Run: python3 expected.py [OUTPUT] (default: expected.csv beside it).
"""
import csv
import json
import math
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
cfg = json.load(open(HERE + "/config.yaml"))
ZONE = ZoneInfo(cfg["site"]["time_zone"])
OUTCOMES = ["connected", "abandoned", "busy", "no_agent", "timeout", "closed", "failed"]
DAYNAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


def seconds(s):  # "30s", "5m", "1m30s" -> seconds (the subset of Go durations the config uses)
    total, num = 0.0, ""
    for ch in s:
        if ch.isdigit() or ch == ".":
            num += ch
        else:
            total += float(num) * {"h": 3600, "m": 60, "s": 1}[ch]
            num = ""
    return total


def cents(s):  # "12.50" -> 1250
    whole, _, frac = s.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


M = cfg["metrics"]
SL_MS = M["service_level_seconds"] * 1000
SL_TARGET = float(M["service_level_target"])
BLOCKED_TARGET = float(M["blocked_target"])
SHORT_MS = seconds(M["short_abandon"]) * 1000
LOOKBACK_MS = M["repeat_lookback_days"] * 24 * 3600 * 1000
LEAD_MIN_TALK_MS = seconds(M["lead_rule"]["min_talk"]) * 1000
LEAD_FIRST_ONLY = M["lead_rule"].get("first_time_only", True)
LEAD_ENABLED = M["lead_rule"].get("enabled", True)
INCREMENT_MS = seconds(M["billing_increment"]) * 1000

NUMBERS = {t["number"]: t for t in cfg["tracking_numbers"]}
MARKETING = {}
for mc in cfg["marketing_costs"]:
    MARKETING[mc["source"]] = MARKETING.get(mc["source"], 0) + cents(mc["monthly"])


def epoch_ms(dt):
    return round(dt.astimezone(timezone.utc).timestamp() * 1000)


# ---- calls ----
calls = []
for row in csv.DictReader(open(HERE + "/calls.csv")):
    c = dict(row)
    c["arrived"] = epoch_ms(datetime.strptime(row["arrived_utc"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc))
    c["withheld"] = row["caller"] == ""
    c["answered"] = None if row["answered_ms"] == "" else int(row["answered_ms"])
    c["wait"], c["talk"] = int(row["wait_ms"]), int(row["talk_ms"])
    c["hold_total"], c["hold_count"] = 0, 0
    for h in row["holds"].split():
        start, _, dur = h.partition("+")
        c["hold_count"] += 1
        c["hold_total"] += int(dur) if dur else c["talk"] - int(start)  # open: held until the end
    c["lead_tag"] = None if row["lead"] == "" else row["lead"] == "1"
    c["converted"] = row["converted"] == "1"
    c["revenue"] = int(row["revenue_cents"])
    # The carrier bills from answer to end: ended = arrived + wait + talk.
    c["billed_ms"] = 0 if c["answered"] is None else c["wait"] + c["talk"] - c["answered"]
    local = datetime.fromtimestamp(c["arrived"] / 1000, tz=ZONE)
    c["hour"], c["weekday"], c["date"] = local.hour, (local.weekday() + 1) % 7, local.date()
    calls.append(c)

# First-time: no earlier attempt from the same number within the look-back window [a - L, a).
for c in calls:
    if c["withheld"]:
        c["first"] = False
        continue
    c["first"] = not any(o["caller"] == c["caller"] and c["arrived"] - LOOKBACK_MS <= o["arrived"] < c["arrived"]
                         for o in calls)


def is_lead(c):
    if c["lead_tag"] is not None:
        return c["lead_tag"], "staff"
    ok = LEAD_ENABLED and c["outcome"] == "connected" and c["talk"] >= LEAD_MIN_TALK_MS
    if LEAD_FIRST_ONLY:
        ok = ok and c["first"]
    return ok, "rule"


def billed_minutes(ms):
    if ms == 0:
        return 0.0
    units = -(-ms // INCREMENT_MS)  # ceiling division
    return units * INCREMENT_MS / 60000


# ---- periods ----
def month_fraction(frm, to):
    """Sum over local days d touched by [frm, to) of |P ∩ d| / |d| / days in d's month."""
    total, arith = 0.0, []
    d = datetime.fromtimestamp(frm / 1000, tz=ZONE).date()
    last = datetime.fromtimestamp((to - 1) / 1000, tz=ZONE).date()
    while d <= last:
        start = epoch_ms(datetime(d.year, d.month, d.day, tzinfo=ZONE))
        nd = d + timedelta(days=1)
        end = epoch_ms(datetime(nd.year, nd.month, nd.day, tzinfo=ZONE))
        a, b = max(start, frm), min(end, to)
        nxt = datetime(d.year + (d.month == 12), d.month % 12 + 1, 1)
        in_month = (nxt - datetime(d.year, d.month, 1)).days
        if b > a:
            total += (b - a) / (end - start) / in_month
            arith.append("%d/%d/%d" % (b - a, end - start, in_month))
        d = nd
    return total, arith


def stats(vals):
    v = sorted(vals)
    n = len(v)
    if n == 0:
        return {"n": (0, "")}, {k: None for k in ("mean_ms", "median_ms", "p90_ms", "max_ms")}
    med = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    rank = -(-9 * n // 10)  # ceil(0.9 n), nearest rank
    return {"n": (n, "")}, {"mean_ms": (sum(v) / n, "%d/%d" % (sum(v), n)),
                            "median_ms": (med, "middle of %d sorted" % n),
                            "p90_ms": (v[rank - 1], "rank ceil(0.9*%d)=%d" % (n, rank)),
                            "max_ms": (v[-1], "")}


def report(frm, to, flt):
    out = []  # (figure, value or None, arithmetic)

    def put(name, value, arith=""):
        out.append((name, value, arith))

    def ratio(prefix, num, den, kind="pct"):
        put(prefix + ".num", num)
        put(prefix + ".den", den)
        if den == 0:
            put(prefix + "." + kind, None, "%s/0: no value" % num)
        elif kind == "pct":
            put(prefix + ".pct", num / den * 100, "%s/%s*100" % (num, den))
        else:
            put(prefix + ".value", num / den, "%s/%s" % (num, den))

    def put_stats(prefix, vals):
        n, rest = stats(vals)
        put(prefix + ".n", n["n"][0])
        for k in ("mean_ms", "median_ms", "p90_ms", "max_ms"):
            if rest[k] is None:
                put(prefix + "." + k, None, "empty set")
            else:
                put(prefix + "." + k, rest[k][0], rest[k][1])

    inp = [c for c in calls if frm <= c["arrived"] < to]  # every attempt of the period
    sl = [c for c in inp if all(c[k] == v for k, v in flt.items())]
    n = len(sl)
    put("volume", n)
    put("live", 0)
    for wd in range(7):
        for h in range(24):
            put("heatmap.%s.%02d" % (DAYNAMES[wd], h), sum(1 for c in sl if c["weekday"] == wd and c["hour"] == h))
    for h in range(24):
        put("by_hour.%02d" % h, sum(1 for c in sl if c["hour"] == h))
    d = datetime.fromtimestamp(frm / 1000, tz=ZONE).date()
    last = datetime.fromtimestamp((to - 1) / 1000, tz=ZONE).date()
    while d <= last:
        put("by_day." + d.isoformat(), sum(1 for c in sl if c["date"] == d))
        d += timedelta(days=1)
    by = {o: [c for c in sl if c["outcome"] == o] for o in OUTCOMES}
    for o in OUTCOMES:
        put("outcome." + o, len(by[o]))
    conn = by["connected"]
    put_stats("wait.connected", [c["wait"] for c in conn])
    put("asa_ms", sum(c["wait"] for c in conn) / len(conn) if conn else None, "mean wait of connected calls")
    for o in OUTCOMES[1:]:
        put_stats("wait." + o, [c["wait"] for c in by[o]])
    put_stats("wait.not_connected", [c["wait"] for c in sl if c["outcome"] != "connected"])
    put("hold.total_ms", sum(c["hold_total"] for c in sl))
    put("hold.count", sum(c["hold_count"] for c in sl))
    put("hold.calls", sum(1 for c in sl if c["hold_count"] > 0))
    put("talk.total_ms", sum(c["talk"] for c in conn))
    put_stats("talk", [c["talk"] for c in conn])
    put("acd_ms", sum(c["talk"] for c in conn) / len(conn) if conn else None, "mean talk of connected calls")
    ratio("blocked", n - len(conn), n)
    put("blocked.target_pct", BLOCKED_TARGET)
    put("blocked.met", None if n == 0 else float((n - len(conn)) / n * 100 <= BLOCKED_TARGET))
    ratio("busy", len(by["busy"]), n)
    ratio("completion", sum(1 for c in sl if c["answered"] is not None), n)
    ab = by["abandoned"]
    short = [c for c in ab if c["wait"] < SHORT_MS]
    ratio("abandon", len(ab), n)
    ratio("abandon_ex_short", len(ab) - len(short), n - len(short))
    put("abandon.short", len(short))
    within = sum(1 for c in conn if c["wait"] <= SL_MS)
    sl_den = len(conn) + sum(1 for c in ab if c["wait"] >= SHORT_MS)
    ratio("service_level", within, sl_den)
    put("service_level.target_pct", SL_TARGET)
    put("service_level.seconds", SL_MS / 1000)
    put("service_level.met", None if sl_den == 0 else float(within / sl_den * 100 >= SL_TARGET))
    put("callers.first_time", sum(1 for c in sl if c["first"]))
    put("callers.repeat", sum(1 for c in sl if not c["first"] and not c["withheld"]))
    put("callers.withheld", sum(1 for c in sl if c["withheld"]))
    leads = [c for c in sl if is_lead(c)[0]]
    put("leads.total", len(leads))
    put("leads.staff", sum(1 for c in leads if is_lead(c)[1] == "staff"))
    put("leads.rule", sum(1 for c in leads if is_lead(c)[1] == "rule"))
    put("leads.converted", sum(1 for c in sl if c["converted"]))
    ratio("lead_conversion", sum(1 for c in leads if c["converted"]), len(leads))
    revenue = sum(c["revenue"] for c in sl)
    put("revenue.cents", revenue)
    ratio("revenue_per_call", revenue, len(conn), "value")

    # Cost. F = proration factor of a monthly amount over the period.
    F, f_arith = month_fraction(frm, to)
    f_text = "F=%r" % F if len(f_arith) > 4 else "F=" + "+".join(f_arith)
    all_src, all_num = {}, {}
    for c in inp:
        all_src[c["source"]] = all_src.get(c["source"], 0) + 1
        all_num[c["tracking_number"]] = all_num.get(c["tracking_number"], 0) + 1
    rows = {}

    def row(key):
        if key not in rows:
            rows[key] = dict(calls=[], marketing=0.0, fees=0.0, arith=[])
        return rows[key]

    for c in sl:
        row((c["source"], c["campaign"], c["medium"]))["calls"].append(c)
    for key, r in rows.items():
        src = key[0]
        if r["calls"]:
            k = len(r["calls"])
            r["marketing"] = MARKETING.get(src, 0) * F * k / all_src[src]
            r["arith"].append("marketing %d*F*%d/%d" % (MARKETING.get(src, 0), k, all_src[src]))
            per_num = {}
            for c in r["calls"]:
                per_num[c["tracking_number"]] = per_num.get(c["tracking_number"], 0) + 1
            for num, k in sorted(per_num.items()):
                fee = cents(NUMBERS[num].get("monthly_fee", "0")) if num in NUMBERS else 0
                r["fees"] += fee * F * k / all_num[num]
                r["arith"].append("fee %s %d*F*%d/%d" % (num, fee, k, all_num[num]))
    source_only = all(k == "source" for k in flt)
    if source_only:  # fixed costs no attempt of the period carries
        for src, monthly in MARKETING.items():
            if all_src.get(src, 0) == 0 and flt.get("source", src) == src:
                r = row((src, "", ""))
                r["marketing"] += monthly * F
                r["arith"].append("unshared marketing %d*F" % monthly)
        for num, t in NUMBERS.items():
            if all_num.get(num, 0) == 0 and flt.get("source", t["source"]) == t["source"]:
                r = row((t["source"], t.get("campaign", ""), t.get("medium", "")))
                fee = cents(t.get("monthly_fee", "0"))
                r["fees"] += fee * F
                r["arith"].append("unshared fee %s %d*F" % (num, fee))

    def minutes(cs):
        bm = sum(billed_minutes(c["billed_ms"]) for c in cs)
        pm = sum(billed_minutes(c["billed_ms"]) * (cents(NUMBERS[c["tracking_number"]].get("per_minute", "0"))
                                                    if c["tracking_number"] in NUMBERS else 0) for c in cs)
        return bm, pm

    def put_cost(prefix, mk, fees, cs, arith):
        bm, pm = minutes(cs)
        put(prefix + ".marketing_cents", mk, "; ".join(a for a in arith if "marketing" in a) + "; " + f_text)
        put(prefix + ".number_fees_cents", fees, "; ".join(a for a in arith if "fee" in a))
        put(prefix + ".per_minute_cents", pm, "sum of rate x ceil(billed/%dms) x %dms / 60000" % (INCREMENT_MS, INCREMENT_MS))
        put(prefix + ".billed_minutes", bm)
        put(prefix + ".total_cents", mk + fees + pm, "marketing + fees + per-minute")
        return mk + fees + pm

    all_arith = [a for r in rows.values() for a in r["arith"]]
    total = put_cost("cost", sum(r["marketing"] for r in rows.values()), sum(r["fees"] for r in rows.values()), sl, all_arith)
    ratio("cost_per_call", total, n, "value")
    ratio("cost_per_lead", total, len(leads), "value")
    for key in sorted(rows, key=lambda k: "\0".join(k)):
        r = rows[key]
        p = "source.%s|%s|%s" % key
        cs = r["calls"]
        conn_n = sum(1 for c in cs if c["outcome"] == "connected")
        lead_n = sum(1 for c in cs if is_lead(c)[0])
        put(p + ".volume", len(cs))
        put(p + ".connected", conn_n)
        ratio(p + ".blocked", len(cs) - conn_n, len(cs))
        put(p + ".leads", lead_n)
        put(p + ".revenue_cents", sum(c["revenue"] for c in cs))
        t = put_cost(p + ".cost", r["marketing"], r["fees"], cs, r["arith"])
        ratio(p + ".cost_per_call", t, len(cs), "value")
        ratio(p + ".cost_per_lead", t, lead_n, "value")
    return out


def local_ms(s):
    return epoch_ms(datetime.strptime(s, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=ZONE))


import sys

with open(sys.argv[1] if len(sys.argv) > 1 else HERE + "/expected.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["period", "slice", "figure", "value", "arithmetic"])
    for p in csv.DictReader(open(HERE + "/periods.csv")):
        frm, to = local_ms(p["from_local"]), local_ms(p["to_local"])
        for sl in p["slices"].split("|"):
            flt = {} if sl == "all" else dict(kv.split("=", 1) for kv in sl.split(";"))
            for name, value, arith in report(frm, to, flt):
                if value is None:
                    text = "null"
                elif isinstance(value, bool):
                    text = "1" if value else "0"
                else:
                    text = repr(float(value)) if isinstance(value, float) else str(value)
                w.writerow([p["name"], sl, name, text, arith])
print("wrote", sys.argv[1] if len(sys.argv) > 1 else "expected.csv")
