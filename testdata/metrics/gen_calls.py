#!/usr/bin/env python3
"""Writes calls.csv, the metrics fixture: about 240 call attempts at a dental practice in
America/New_York. Most are drawn from a seeded random generator (so the file is reproducible);
the edge cases the metrics must get right are placed by hand in EDGE below. Run once; the output
is committed. expected.py then works out every figure from calls.csv alone.

Columns: id, arrived_utc (ms), caller (E.164, empty = withheld), line, tracking_number, source,
campaign, medium, keyword, queue, agent (connected calls), outcome, answered_ms (offset from
arrival, empty = never answered), wait_ms, talk_ms, holds (space-separated start+duration offsets
from connect in ms; "start+" = held until the end), lead (empty = no staff decision, 1, 0),
converted (0/1), revenue_cents, note.
"""
import csv
import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

NY = ZoneInfo("America/New_York")
rng = random.Random(20260308)

NUMBERS = {  # number: (line, source, campaign, medium, keyword, queue)
    "+12125550100": ("ata-1", "direct", "", "", "", "front-desk"),
    "+12125550101": ("trunk", "paid_search", "implants-spring", "cpc", "dental implants", "front-desk"),
    "+12125550102": ("trunk", "google_business_profile", "", "", "", "front-desk"),
    "+12125550103": ("trunk", "paid_search", "whitening", "cpc", "", "billing"),
    "+12125550110": ("trunk", "organic_search", "", "", "", "front-desk"),
}
WEIGHTS = [("+12125550100", 3), ("+12125550101", 4), ("+12125550102", 3), ("+12125550103", 2), ("+12125550110", 3)]
MEMBERS = {"front-desk": ["alice", "bob"], "billing": ["carol", "bob"]}
MAXWAIT = {"front-desk": 180000, "billing": 120000}
CALLERS = ["+1212555%04d" % (1000 + i) for i in range(70)]

rows = []


def utc_ms(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def add(arrived, caller, number, outcome, answered, wait, talk=0, holds="", agent=None, lead="", converted=0,
        revenue=0, note="", attribution=None):
    line, source, campaign, medium, keyword, queue = NUMBERS[number]
    assert answered is None or answered <= wait, (arrived, answered, wait)
    if attribution:  # a DNI call credited to the visit's source
        source, campaign, medium, keyword = attribution
    if outcome == "connected" and agent is None:
        agent = rng.choice(MEMBERS[queue])
    rows.append(dict(arrived_utc=utc_ms(arrived), caller=caller, line=line, tracking_number=number, source=source,
                     campaign=campaign, medium=medium, keyword=keyword, queue=queue,
                     agent=agent or "", outcome=outcome, answered_ms="" if answered is None else answered,
                     wait_ms=wait, talk_ms=talk, holds=holds, lead=lead, converted=converted,
                     revenue_cents=revenue, note=note))


def random_call(arrived):
    number = rng.choices([n for n, _ in WEIGHTS], [w for _, w in WEIGHTS])[0]
    caller = "" if rng.random() < 0.12 else rng.choice(CALLERS)
    queue = NUMBERS[number][5]
    local = arrived.astimezone(NY)
    ring = rng.randint(4000, 9000) if number == "+12125550100" else rng.randint(0, 2500)
    if local.hour < 8 or local.hour >= 18 or local.weekday() == 6:
        outcome = "closed"
    else:
        outcome = rng.choices(["connected", "abandoned", "busy", "no_agent", "timeout", "failed"],
                              [58, 17, 7, 6, 5, 7])[0]
    kw = {}
    if outcome == "connected":
        wait = ring + rng.choice([0, rng.randint(0, 15000), rng.randint(0, 40000), rng.randint(15000, 90000)])
        talk = rng.choice([rng.randint(5000, 59000), rng.randint(60000, 600000), rng.randint(60000, 1500000)])
        holds = []
        t = 0
        for _ in range(rng.choice([0, 0, 0, 1, 1, 2])):
            s = t + rng.randint(1000, max(1001, talk // 3))
            d = rng.randint(2000, 60000)
            if s + d < talk:
                holds.append("%d+%d" % (s, d))
                t = s + d
        kw = dict(answered=ring, wait=wait, talk=talk, holds=" ".join(holds))
        if rng.random() < 0.3:
            kw["revenue"] = rng.choice([4500, 12000, 25000, 89900, 150000])
            kw["converted"] = 1 if rng.random() < 0.8 else 0
        r = rng.random()
        if r < 0.05:
            kw["lead"] = "0"
        elif r < 0.12:
            kw["lead"] = "1"
    elif outcome == "abandoned":
        wait = rng.choice([rng.randint(300, 4999), rng.randint(5000, 120000)])
        answered = ring if rng.random() < 0.7 and ring < wait else None
        kw = dict(answered=answered, wait=wait)
        if rng.random() < 0.08:
            kw["lead"] = "1"
    elif outcome == "busy":
        kw = dict(answered=None, wait=rng.randint(20, 400))
    elif outcome == "no_agent":
        kw = dict(answered=ring, wait=ring + rng.randint(2000, 15000)) if rng.random() < 0.5 else dict(answered=None, wait=rng.randint(50, 300))
    elif outcome == "timeout":
        kw = dict(answered=ring, wait=ring + MAXWAIT[queue] + rng.randint(0, 400))
    elif outcome == "closed":
        kw = dict(answered=ring, wait=ring + rng.randint(8000, 15000)) if rng.random() < 0.5 else dict(answered=None, wait=rng.randint(50, 300))
    else:  # failed
        kw = dict(answered=ring, wait=ring + rng.randint(500, 30000)) if rng.random() < 0.5 else dict(answered=None, wait=rng.randint(10, 200))
    add(arrived, caller, number, outcome, **kw)


# The bulk: 2026-02-20 .. 2026-03-31, about 5 calls a day at random local times.
day = datetime(2026, 2, 20, tzinfo=NY)
while day < datetime(2026, 4, 1, tzinfo=NY):
    for _ in range(rng.choice([3, 4, 5, 5, 6, 7])):
        local = datetime(day.year, day.month, day.day, rng.choice([7, 8, 9, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19]),
                         rng.randint(0, 59), rng.randint(0, 59), rng.randint(0, 999) * 1000, tzinfo=NY)
        random_call(local)
    day = datetime(day.year, day.month, day.day, tzinfo=NY) + timedelta(days=1)
    day = datetime(day.year, day.month, day.day, tzinfo=NY)

U = timezone.utc
# Hand-placed edge cases.
# Spring forward, Sunday 2026-03-08: 02:00 EST jumps to 03:00 EDT (a 23-hour local day).
add(datetime(2026, 3, 8, 5, 30, 0, 0, U), "+12125551001", "+12125550102", "closed", None, 120, note="00:30 EST")
add(datetime(2026, 3, 8, 6, 59, 30, 0, U), "+12125551002", "+12125550101", "closed", 1500, 12000, note="01:59:30 EST")
add(datetime(2026, 3, 8, 7, 0, 10, 0, U), "", "+12125550101", "closed", None, 90, note="03:00:10 EDT, withheld")
add(datetime(2026, 3, 8, 7, 45, 0, 0, U), "+12125551003", "+12125550110", "busy", None, 200, note="03:45 EDT")
add(datetime(2026, 3, 8, 16, 0, 0, 0, U), "+12125559100", "+12125550101", "connected", 800, 20000, 60000, agent="alice",
    note="12:00 EDT; wait exactly 20 s (within the service level); talk exactly 60 s (lead by rule)")
add(datetime(2026, 3, 9, 3, 58, 0, 0, U), "+12125559101", "+12125550110", "connected", 1000, 20001, 420000,
    holds="60000+30000 400000+", agent="bob",
    note="23:58 EDT on 03-08, ends after midnight; wait 20.001 s (misses the service level); held until the end")
# Fall back, Sunday 2025-11-02: 01:00-01:59 happens twice (a 25-hour local day).
add(datetime(2025, 11, 2, 4, 50, 0, 0, U), "+12125559200", "+12125550102", "closed", None, 150, note="00:50 EDT")
add(datetime(2025, 11, 2, 5, 20, 0, 0, U), "+12125559201", "+12125550102", "closed", 2000, 9000, note="01:20 EDT (first 01:20)")
add(datetime(2025, 11, 2, 6, 20, 0, 0, U), "+12125559201", "+12125550102", "closed", None, 80, note="01:20 EST (second 01:20), repeat")
add(datetime(2025, 11, 2, 6, 59, 0, 0, U), "", "+12125550100", "failed", None, 40, note="01:59 EST, withheld")
add(datetime(2025, 11, 2, 7, 10, 0, 0, U), "+12125559202", "+12125550103", "closed", None, 60, note="02:10 EST")
add(datetime(2025, 11, 3, 4, 59, 30, 0, U), "+12125559203", "+12125550101", "connected", 500, 3000, 95000, agent="alice",
    revenue=12000, converted=1, note="23:59:30 EST on 11-02 (a Sunday), spans midnight")
add(datetime(2025, 11, 3, 14, 0, 0, 0, U), "+12125559201", "+12125550102", "connected", 300, 7000, 61000, agent="bob",
    note="repeat caller: connected, talk >= 60 s, not a lead by rule")
# Look-back boundary (365 x 24 h): 9001's earlier call is exactly 365 days before (repeat);
# 9002's is 365 days and 1 s before (first-time again).
add(datetime(2025, 3, 10, 16, 0, 0, 0, U), "+12125559001", "+12125550101", "connected", 100, 4000, 30000, agent="alice")
add(datetime(2025, 3, 10, 15, 59, 59, 0, U), "+12125559002", "+12125550101", "connected", 100, 4000, 30000, agent="bob")
add(datetime(2026, 3, 10, 16, 0, 0, 0, U), "+12125559001", "+12125550101", "connected", 200, 9000, 120000, agent="alice",
    note="repeat at exactly 365 days")
add(datetime(2026, 3, 10, 16, 0, 0, 0, U) + timedelta(milliseconds=5), "+12125559002", "+12125550101", "connected", 200,
    9000, 120000, agent="bob", revenue=25000, converted=1, note="first-time again after 365 days and 1 s: lead by rule")
# Short-abandon boundary.
add(datetime(2026, 3, 11, 15, 0, 0, 0, U), "+12125559300", "+12125550102", "abandoned", 1000, 4999, note="short abandon (4.999 s)")
add(datetime(2026, 3, 11, 15, 5, 0, 0, U), "+12125559301", "+12125550102", "abandoned", 1000, 5000, note="not short (exactly 5 s)")
add(datetime(2026, 3, 11, 15, 10, 0, 0, U), "+12125559302", "+12125550102", "connected", 1000, 5000, 59999, agent="alice",
    note="talk 59.999 s: not a lead by rule")
# Month boundary in local time, and a call across it.
add(datetime(2026, 3, 1, 4, 59, 59, 999000, U), "+12125559400", "+12125550100", "closed", None, 100, note="23:59:59.999 on 02-28")
add(datetime(2026, 3, 1, 5, 0, 0, 0, U), "+12125559401", "+12125550100", "closed", None, 100, note="00:00:00.000 on 03-01")
add(datetime(2026, 3, 1, 4, 59, 0, 0, U), "+12125559402", "+12125550101", "connected", 1000, 2000, 300000, agent="bob",
    note="23:59 on 02-28, talks into March")
# Billing increment boundaries (30 s): exactly 3 increments, and 1 ms over.
add(datetime(2026, 3, 12, 14, 0, 0, 0, U), "+12125559500", "+12125550103", "connected", 0, 10000, 80000, agent="carol",
    note="billed 90.000 s = 3 increments")
add(datetime(2026, 3, 12, 14, 10, 0, 0, U), "+12125559501", "+12125550103", "connected", 0, 10000, 80001, agent="carol",
    note="billed 90.001 s = 4 increments")
# Staff overrides: a non-connected lead, a connected first-time non-lead, a converted non-lead.
add(datetime(2026, 3, 13, 15, 0, 0, 0, U), "+12125559600", "+12125550101", "abandoned", 500, 40000, lead="1",
    note="staff lead on an abandoned call (called back)")
add(datetime(2026, 3, 13, 15, 20, 0, 0, U), "+12125559601", "+12125550101", "connected", 500, 6000, 300000, agent="alice",
    lead="0", note="staff: not a lead, despite the rule")
add(datetime(2026, 3, 13, 15, 40, 0, 0, U), "+12125559602", "+12125550102", "connected", 500, 6000, 20000, agent="bob",
    converted=1, revenue=4500, note="converted, but not a lead")
# DNI calls on the pool number credited to the visitor's paid-search visit.
add(datetime(2026, 3, 16, 14, 0, 0, 0, U), "+12125559700", "+12125550110", "connected", 500, 8000, 200000, agent="alice",
    attribution=("paid_search", "implants-spring", "cpc", "implant cost"), note="DNI: visit from paid search")
add(datetime(2026, 3, 17, 14, 0, 0, 0, U), "", "+12125550110", "abandoned", None, 15000,
    attribution=("paid_search", "implants-spring", "cpc", ""), note="DNI, withheld, abandoned while ringing")

rows.sort(key=lambda r: (r["arrived_utc"], r["caller"]))
with open("calls.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    cols = ["id", "arrived_utc", "caller", "line", "tracking_number", "source", "campaign", "medium", "keyword", "queue",
            "agent", "outcome", "answered_ms", "wait_ms", "talk_ms", "holds", "lead", "converted", "revenue_cents", "note"]
    w.writerow(cols)
    for i, r in enumerate(rows):
        r["id"] = "fixture-%04d" % (i + 1)
        w.writerow([r[c] for c in cols])
print(len(rows), "calls")
