"""probe.py - seeded random requests against every route, for t-probe.sh.

  probe.py SOCK SECONDS SEED IDS PATHS [seed]

Each request picks a route (now and then another method), fills its {id} with a
stored id, a malformed one or one longer than any id, adds up to three query
parameters (mostly ones the route takes) with values from a list of awkward ones (not UTF-8, cut inside a
character, huge numbers, empty, too long, malformed pairs), and sends a body
mutated from a valid one (wrong types, huge or nested values, extra and missing
members, bytes that are not JSON). With `seed`, it first creates three persons
with a document and a travel request each and writes their ids to IDS; without,
it reads them from there. PATHS: the routes to probe, by the start of their
path, separated by commas (a role's own routes), or "all".

Promise held: rosterd answers every request (no connection lost, so no crash),
with JSON, and never with a 5xx other than 503 and 507: a request a client can
send is refused as that client's mistake or served. Found by its first runs:
0.7.6 crashed on a document number that was not UTF-8, listed every person for
a national id that was not, and answered 500 for an id longer than any id.
Exit 0 when all held, 1 with the first request that broke it otherwise.
"""
import json
import random
import socket
import sys
import time

SOCK, SECS, SEED, IDS = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
PATHS = sys.argv[5].split(",")
SEEDING = len(sys.argv) > 6 and sys.argv[6] == "seed"
rnd = random.Random(SEED)


def fail(why):
    print(why)
    sys.exit(1)


def connect():
    s = socket.socket(socket.AF_UNIX)
    s.connect(SOCK)
    s.settimeout(30)
    return s, s.makefile("rb")


def send(conn, method, target, body=None):
    s, f = conn
    head = "%s %s HTTP/1.1\r\nHost: rosterd\r\n" % (method, target)
    data = b""
    if body is not None:
        data = body
        head += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(data)
    s.sendall(head.encode() + b"\r\n" + data)
    line = f.readline()
    if not line:
        raise EOFError("the connection ended where a reply was expected")
    status, length = int(line.split()[1]), 0
    while True:
        h = f.readline()
        if h in (b"\r\n", b""):
            break
        if h.lower().startswith(b"content-length:"):
            length = int(h.split(b":")[1])
    return status, f.read(length)


PERSON = {"name": "Ana Muller", "birth_date": "1980-02-29", "nationality": "DE",
          "employer": "E", "segment": "midstream", "expertise": ["metallurgy"]}


def seed(conn):
    ids = {"per_": [], "doc_": [], "trv_": []}
    for i in range(3):
        st, b = send(conn, "POST", "/v1/persons",
                     json.dumps(dict(PERSON, national_id="PROBE%d%d" % (SEED, i))).encode())
        if st != 201 and st != 200:
            fail("seeding a person: %d %r" % (st, b[:200]))
        pid = json.loads(b)["id"]
        ids["per_"].append(pid)
        doc = {"person": pid, "type": "passport", "number": "P%d%d" % (SEED, i),
               "country": "DE", "expires": "2031-01-01", "custody": "employer"}
        st, b = send(conn, "POST", "/v1/documents", json.dumps(doc).encode())
        if st < 300:
            ids["doc_"].append(json.loads(b)["id"])
        trip = {"person": pid, "destinations": ["US"], "depart": "2027-01-01",
                "return": "2027-01-05", "purpose": "a plant visit"}
        st, b = send(conn, "POST", "/v1/travel", json.dumps(trip).encode())
        if st < 300:
            ids["trv_"].append(json.loads(b)["id"])
    with open(IDS, "w") as out:
        json.dump(ids, out)
    return ids


ROUTES = [
    ("POST", "/v1/persons"), ("GET", "/v1/persons"), ("POST", "/v1/persons/import"),
    ("GET", "/v1/persons/{per_}"), ("PATCH", "/v1/persons/{per_}"),
    ("POST", "/v1/documents"), ("GET", "/v1/documents"), ("GET", "/v1/documents/{doc_}"),
    ("POST", "/v1/documents/{doc_}/custody"), ("POST", "/v1/travel"), ("GET", "/v1/travel"),
    ("GET", "/v1/travel/{trv_}"), ("POST", "/v1/travel/{trv_}/decision"),
    ("POST", "/v1/travel/{trv_}/complete"), ("POST", "/v1/travel/{trv_}/cancel"),
    ("GET", "/v1/audit/entries"), ("GET", "/v1/audit/checkpoint"),
    ("POST", "/v1/audit/checkpoint"), ("GET", "/v1/audit/checkpoints"),
    ("GET", "/v1/audit/pubkey"), ("GET", "/v1/audit/proof/inclusion"),
    ("GET", "/v1/audit/proof/consistency"), ("GET", "/v1/audit/digests"),
    ("GET", "/v1/audit/filters"), ("GET", "/v1/status"), ("GET", "/v1/roles"),
    ("POST", "/v1/roles/grant"), ("POST", "/v1/roles/revoke"), ("GET", "/v1/keys"),
    ("GET", "/v1/health"), ("GET", "/v1/metrics"), ("GET", "/v1/progress"),
]
# Not /v1/backup nor /v1/keys/rotate: each is a long job of its own, tested elsewhere.
PARAMS = ["national_id", "name", "birth_date", "employer", "segment", "status", "expertise",
          "after", "limit", "from", "last", "target", "actor", "action", "outcome", "since",
          "until", "index", "size", "old", "new", "number", "country", "person", "custody",
          "history_from", "history_limit"]
# What each route takes (routes.c), so that most parameters reach its handler.
TAKES = {
    "/v1/persons": "national_id name birth_date employer segment status expertise after limit",
    "/v1/documents": "number country person custody after limit",
    "/v1/documents/": "history_from limit", "/v1/travel": "person status after limit",
    "/v1/audit/entries": "from last limit target actor action outcome since until",
    "/v1/audit/checkpoints": "from limit", "/v1/audit/proof/inclusion": "index size",
    "/v1/audit/proof/consistency": "old new", "/v1/audit/digests": "after limit",
    "/v1/audit/filters": "from limit",
}
VALUES = ["", "0", "-1", "1", "3", "18446744073709551616", "9007199254740993", "1e3", "%00",
          "%FF", "%C3", "%E2%82", "a%20b", "+", "%2B", "uid:0", "uid:4294967296", "root",
          "2026-01-01", "2026-13-45", "2026-01-01T00:00:00Z", "9999-12-31", "DE", "XX", "per_",
          "%22", "%5C", "a;b", "upstream", "active", "metallurgy", "approved", "lost", "ok",
          "A" * 300, "A" * 1030, "%C3%A9" * 40]
MEMBERS = ["version", "id", "events", "reason", "decision", "event", "holder", "note",
           "request", "uid", "role", "records", "to", "from", "dry_run", "person", "status"]
BODIES = [
    PERSON,
    {"records": [PERSON, dict(PERSON, national_id="Q2")], "dry_run": True},
    {"event": "handover", "to": "holder", "note": "n"},
    {"decision": "approve", "reason": "r"}, {"decision": "deny"},
    {"uid": 12345, "role": "clerk"}, {"version": 1, "name": "B B"},
    {"person": "per_x", "type": "passport", "number": "N1", "country": "DE",
     "expires": "2031-01-01", "custody": "employer"},
    {"person": "per_x", "destinations": ["US"], "depart": "2027-01-01",
     "return": "2027-01-05", "purpose": "p"},
]


def mutate(v):
    r = rnd.random()
    if r < 0.08:
        return None
    if r < 0.14:
        return rnd.choice([0, -1, 2 ** 53 + 1, 2 ** 64, 1e308, -0.0, True, "", "x" * 5000, [], {},
                           [[[[[]]]]], {"a": {"b": {"c": 1}}}])
    if isinstance(v, dict):
        v = dict(v)
        for k in list(v):
            if rnd.random() < 0.3:
                v[k] = mutate(v[k])
            if rnd.random() < 0.05:
                del v[k]
        if rnd.random() < 0.2:
            v[rnd.choice(MEMBERS + PARAMS)] = mutate("x")
        return v
    if isinstance(v, list):
        return [mutate(x) for x in v] + ([mutate("y")] if rnd.random() < 0.2 else [])
    if isinstance(v, str):
        return rnd.choice([v, v * 50, v + "\u00e9", "\u2028", v[:1], "2027-02-30", "uid:1",
                           "\U0001f600" + v])
    return v


def an_id(ids, prefix):
    if rnd.random() < 0.7 and ids[prefix]:
        return rnd.choice(ids[prefix])
    return rnd.choice([prefix + "0" * 26, prefix, "x", prefix + "%FF", prefix + "a" * 60,
                       "..", "%2e%2e", "per_" + ids["per_"][0][4:] if ids["per_"] else "per_"])


def request_of(ids, routes):
    method, path = rnd.choice(routes)
    if rnd.random() < 0.1:
        method = rnd.choice(["GET", "POST", "PATCH", "PUT", "DELETE"])
    for prefix in ("per_", "doc_", "trv_"):
        path = path.replace("{%s}" % prefix, an_id(ids, prefix))
    takes = TAKES.get(path, TAKES.get(path[:path.rfind("/") + 1], "")).split()
    query = ["%s=%s" % (rnd.choice(takes if takes and rnd.random() < 0.9 else PARAMS),
                        rnd.choice(VALUES)) for _ in range(rnd.choice([0, 0, 1, 1, 2, 3]))]
    if rnd.random() < 0.05:
        query.append(rnd.choice(["a", "&", "=", "==", "a=b=c", "%FF=1"]))
    target = path + ("?" + "&".join(query) if query else "")
    body = None
    if method in ("POST", "PATCH", "PUT") and rnd.random() < 0.95:
        b = mutate(rnd.choice(BODIES))
        body = json.dumps(b).encode() if rnd.random() < 0.9 else rnd.choice(
            [b"{", b"[]", b"null", b"{\"a\":1,\"a\":2}", b"{\"name\":\"\xff\"}",
             bytes(rnd.randrange(256) for _ in range(40))])
    return method, target, body


def main():
    conn = connect()
    if SEEDING:
        ids = seed(conn)
    else:
        with open(IDS) as f:
            ids = json.load(f)
    routes = [r for r in ROUTES if PATHS == ["all"] or r[1].startswith(tuple(PATHS))]
    end, n, seen = time.time() + SECS, 0, {}
    while time.time() < end:
        method, target, body = request_of(ids, routes)
        try:
            status, reply = send(conn, method, target, body)
        except (EOFError, OSError) as e:
            fail("%s %s %r: %s" % (method, target[:200], (body or b"")[:200], e))
        n += 1
        seen[status] = seen.get(status, 0) + 1
        if status >= 500 and status not in (503, 507):
            fail("%s %s %r: %d %r" % (method, target[:200], (body or b"")[:200], status,
                                      reply[:300]))
        if not target.startswith(("/v1/metrics", "/v1/audit/entries", "/v1/audit/digests")):
            try:
                json.loads(reply)
            except ValueError:
                fail("%s %s: %d with a body that is not JSON: %r" % (method, target[:200],
                                                                    status, reply[:200]))
        if status >= 400 and rnd.random() < 0.02:  # now and then a new connection
            conn[0].close()
            conn = connect()
    print("%d requests, by status: %s" % (n, " ".join(
        "%d:%d" % (k, seen[k]) for k in sorted(seen))))


main()
