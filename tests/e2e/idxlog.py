#!/usr/bin/env python3
# idxlog.py SOCKET SEED STEPS STATE: a clerk's random creates and updates of
# persons over the socket, each followed (every few steps) by finds on every
# filter, compared with what a model of the roster says they must return. The
# model is kept in STATE (JSON) between runs, so a restart or a kill -9 between
# two runs is checked against everything acknowledged before it.
import http.client
import json
import os
import random
import socket
import sys
import urllib.parse

NAMES = ["Ada Lind", "Bo Kask", "Cem Ylmaz", "Dora Fey", "Emil Stroh", "Fay Ruud"]
EMPLOYERS = ["Acme Magnets", "Borax Mining", "Cobalt Works"]
SEGMENTS = ["upstream", "midstream", "downstream", "cross-cutting"]
STATUSES = ["active", "departed"]
EXPERTISE = ["metallurgy", "magnet-alloys", "solvent-extraction", "ip-analysis"]
DATES = ["1970-01-01", "1971-02-02", "1972-03-03"]


class Unix(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("r", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path)


def call(conn, method, url, body=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, url, json.dumps(body) if body is not None else None, headers)
    r = conn.getresponse()
    data = r.read()
    return r.status, json.loads(data) if data else None


def fields(rng):
    return {
        "name": rng.choice(NAMES),
        "birth_date": rng.choice(DATES),
        "employer": rng.choice(EMPLOYERS),
        "segment": rng.choice(SEGMENTS),
        "expertise": sorted(rng.sample(EXPERTISE, rng.randint(1, 2))),
    }


def finds(conn, model):
    """Every filter and a pair of them, paged by 3: the ids must be the model's."""
    people = model["persons"]
    queries = []
    for key, values in (("name", NAMES), ("employer", EMPLOYERS), ("segment", SEGMENTS),
                        ("status", STATUSES), ("expertise", EXPERTISE), ("birth_date", DATES)):
        for v in values:
            queries.append({key: v})
    queries.append({"name": NAMES[0], "employer": EMPLOYERS[1]})
    queries.append({"status": "active", "expertise": EXPERTISE[2]})
    for nid in list(people)[:5]:
        queries.append({"national_id": nid})
    for q in queries:
        want = sorted(pid for pid, p in people.items() if matches(p, q))
        got, after = [], ""
        while True:
            url = "/v1/persons?limit=3&" + urllib.parse.urlencode(q)
            if after:
                url += "&after=" + after
            status, body = call(conn, "GET", url)
            if status != 200:
                sys.exit(f"find {q}: HTTP {status} {body}")
            got += [item["id"] for item in body["items"]]
            after = body.get("next") or ""
            if not after:
                break
        if sorted(got) != want or got != sorted(got):
            sys.exit(f"find {q}: got {got}, the roster has {want}")
    return len(queries)


def matches(p, q):
    for key, v in q.items():
        if key == "expertise":
            if v not in p["expertise"]:
                return False
        elif key == "national_id":
            if p["national_id"] != v:
                return False
        elif p.get(key) != v:
            return False
    return True


def main():
    path, seed, steps, state = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    rng = random.Random(seed)
    model = json.load(open(state)) if os.path.exists(state) else {"persons": {}, "n": 0}
    conn = Unix(path)
    checked = finds(conn, model)  # what was acknowledged before this run
    for step in range(steps):
        people = model["persons"]
        if not people or rng.random() < 0.5:
            model["n"] += 1
            nid = f"IDX{seed:03d}{model['n']:05d}"
            rec = dict(fields(rng), nationality="DE", national_id=nid)
            status, body = call(conn, "POST", "/v1/persons", rec)
            if status != 201:
                sys.exit(f"create: HTTP {status} {body}")
            people[body["id"]] = dict(rec, status="active", version=body["version"])
        else:
            pid = rng.choice(sorted(people))
            p = people[pid]
            change = {k: v for k, v in fields(rng).items() if rng.random() < 0.5}
            change = change or {"employer": rng.choice(EMPLOYERS)}
            if rng.random() < 0.3:
                change["status"] = rng.choice(STATUSES)
            if rng.random() < 0.1:  # a new national id: the old one is free again
                model["n"] += 1
                change["national_id"] = f"IDX{seed:03d}{model['n']:05d}"
            status, body = call(conn, "PATCH", "/v1/persons/" + pid,
                                dict(change, version=p["version"]))
            if status != 200:
                sys.exit(f"update: HTTP {status} {body}")
            p.update(change)
            p["version"] = body["version"]
        if step % 5 == 4:
            checked += finds(conn, model)
        json.dump(model, open(state + ".tmp", "w"))
        os.replace(state + ".tmp", state)
    checked += finds(conn, model)
    # A second person with a national id in use is refused, from the log or not.
    if model["persons"]:
        nid = next(iter(model["persons"].values()))["national_id"]
        status, body = call(conn, "POST", "/v1/persons",
                            dict(fields(rng), nationality="DE", national_id=nid))
        if status != 409:
            sys.exit(f"a duplicate national id: HTTP {status} {body}")
    print(f"{steps} steps, {len(model['persons'])} persons, {checked} finds exact")


main()
