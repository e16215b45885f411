"""wire.py - requests on one connection as a client may put them on the wire,
for t-wire.sh. Replies are read byte by byte off the socket, so what rosterd
sent is checked as sent: in order, whole, nothing twice.

  wire.py SOCK pipeline N K [P]
                            K connections at once, each with N creates
                            written in one send, then N reads of them in one
                            send, then one more request: every reply in order
                            and right, the connections kept (the writer
                            answers several connections' requests together,
                            the case whose replies are written at once);
                            national ids start with P (default W)
  wire.py SOCK audit R      R times one page of the audit log (more than the
                            socket takes at once), read after a pause: whole,
                            consecutive entries, then a second request
  wire.py SOCK close        a request with Connection: close: its reply, then
                            the end of the stream
  wire.py SOCK rawpath      a path with bytes that are not UTF-8, sent raw:
                            a 404 in JSON that quotes it with '?' for them,
                            and the connection still serves
  wire.py SOCK query        queries whose values are not UTF-8, cut inside a
                            character, malformed or too long: each a 400
                            bad_query naming the parameter (one crashed
                            rosterd, others listed every record), as is a
                            parameter the route does not take; ids longer
                            than any id: 404; and the connection still serves
Exit 0 when all held, 1 with the reason otherwise.
"""
import json
import socket
import sys
import threading
import time


def fail(why):
    print("wire: " + why, file=sys.stderr)
    sys.exit(1)


def request(method, path, body=None, close=False):
    data = json.dumps(body).encode() if body is not None else b""
    head = "%s %s HTTP/1.1\r\nHost: rosterd\r\n" % (method, path)
    if data:
        head += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(data)
    if close:
        head += "Connection: close\r\n"
    return head.encode() + b"\r\n" + data


def reply(f):
    """(status, headers, body) of the next reply on the stream."""
    line = f.readline()
    if not line:
        fail("the connection ended where a reply was expected")
    parts = line.decode().split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        fail("not a status line: %r" % line[:80])
    headers = {}
    while True:
        h = f.readline().decode()
        if h in ("\r\n", ""):
            break
        k, _, v = h.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" not in headers:
        fail("a reply without Content-Length: %r" % headers)
    n = int(headers["content-length"])
    body = f.read(n)
    if len(body) != n:
        fail("a body of %d bytes where %d were announced" % (len(body), n))
    return int(parts[1]), headers, body


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(30)
    return s, s.makefile("rb")


def letters(i):
    """A name for number i: names take letters, not digits."""
    out = ""
    for _ in range(3):
        out = chr(ord("a") + i % 26) + out
        i //= 26
    return out.capitalize()


def pipeline(path, n, k, prefix):
    errors = []
    threads = [threading.Thread(target=one_pipeline, args=(path, n, c, prefix, errors))
               for c in range(k)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        fail(errors[0])
    print("pipelined %d creates and %d reads on each of %d connections, in order" % (n, n, k))


def one_pipeline(path, n, c, prefix, errors):
    try:
        pipeline_on(path, n, c, prefix)
    except SystemExit:
        errors.append("connection %d failed (above)" % c)
    except (OSError, ValueError, KeyError) as e:
        errors.append("connection %d: %s" % (c, e))


def pipeline_on(path, n, c, prefix):
    s, f = connect(path)
    persons = [{"name": "Wire Person " + letters(i), "birth_date": "1980-01-01", "nationality": "DE",
                "employer": "Wire Works", "segment": "upstream", "expertise": ["magnet-alloys"],
                "national_id": "%s%02d%06d" % (prefix, c, i)} for i in range(n)]
    s.sendall(b"".join(request("POST", "/v1/persons", p) for p in persons))
    ids = []
    for i, p in enumerate(persons):
        status, _, body = reply(f)
        rec = json.loads(body)
        if status != 201 or rec.get("national_id") != p["national_id"]:
            fail("create %d: %d %s" % (i, status, body[:200]))
        ids.append(rec["id"])
    if len(set(ids)) != n:
        fail("%d distinct ids for %d creates" % (len(set(ids)), n))
    s.sendall(b"".join(request("GET", "/v1/persons/" + pid) for pid in ids))
    for i, pid in enumerate(ids):
        status, _, body = reply(f)
        if status != 200 or json.loads(body).get("id") != pid:
            fail("read %d: %d %s" % (i, status, body[:200]))
    s.sendall(request("GET", "/v1/persons/" + ids[0]))
    if reply(f)[0] != 200:
        fail("the connection did not serve a request after the pipelined ones")


def audit(path, rounds):
    s, f = connect(path)
    most = 0
    for _ in range(rounds):
        s.sendall(request("GET", "/v1/audit/entries?from=0&limit=10000"))
        time.sleep(0.5)  # the socket's buffer fills; the rest waits for the daemon
        status, _, body = reply(f)
        if status != 200:
            fail("audit page: %d %s" % (status, body[:200]))
        lines = body.decode().splitlines()
        seqs = [json.loads(line)["seq"] for line in lines]
        if seqs != list(range(seqs[0], seqs[0] + len(seqs))):
            fail("audit entries not consecutive")
        most = max(most, len(body))
        s.sendall(request("GET", "/v1/audit/checkpoint"))
        if reply(f)[0] != 200:
            fail("the connection did not serve a request after the large reply")
    print("%d audit pages, the last of %d entries, the largest %d bytes, each whole"
          % (rounds, len(lines), most))


def close(path):
    s, f = connect(path)
    s.sendall(request("GET", "/v1/audit/checkpoint", close=True))
    status, headers, _ = reply(f)
    if status != 200:
        fail("checkpoint: %d" % status)
    if f.read(1) != b"":
        fail("bytes after the reply to a Connection: close request")
    print("closed after the reply")


def rawpath(path):
    s, f = connect(path)
    s.sendall(b"GET /v1/persons/per_\xff\xfe\xc3 HTTP/1.1\r\nHost: rosterd\r\n\r\n")
    status, headers, body = reply(f)
    try:
        err = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        fail("the %d's body is not a JSON error: %r" % (status, body[:200]))
    if status != 404 or err.get("code") != "not_found" or "per_???" not in err.get("message", ""):
        fail("raw bytes in the path: %d %r" % (status, err))
    s.sendall(request("GET", "/v1/health"))
    status, _, _ = reply(f)
    if status != 200:
        fail("health after it: %d" % status)
    print("%d %s: %s" % (404, err["code"], err["message"]))


def query(path):
    s, f = connect(path)
    cases = [
        ("/v1/documents?number=%FE&country=DE", 400, "'number' is not UTF-8 text"),
        ("/v1/documents?number=X1&country=%FE", 400, "'country' is not UTF-8 text"),
        ("/v1/persons?national_id=%FE", 400, "'national_id' is not UTF-8 text"),
        ("/v1/persons?national_id=X%C3", 400, "'national_id' is not UTF-8 text"),
        ("/v1/persons?name=%FF", 400, "'name' is not UTF-8 text"),
        ("/v1/travel?person=%FF", 400, "'person' is not UTF-8 text"),
        ("/v1/audit/entries?actor=%FF", 403, ""),
        ("/v1/persons?national_id", 400, "not name=value pairs"),
        ("/v1/persons?national_id=X1&&", 400, "not name=value pairs"),
        ("/v1/persons?name=" + "A" * 1100, 400, "'name' is longer than 1023 bytes"),
        ("/v1/documents?number=" + "A" * 62 + "%C3%A9&country=DE", 400, "number"),
        ("/v1/persons?name=Ana%20M%C3%BCller", 200, ""),
        # A misspelt filter listed every person; a parameter no route takes.
        ("/v1/persons?nationl_id=X1", 400,
         "'nationl_id' is not a query parameter of this path: it takes national_id"),
        ("/v1/persons/per_" + "a" * 26 + "?history_from=1", 400, "it takes none"),
        ("/v1/travel?status=pending&limit=5", 200, ""),
        # Paths answered without an audit entry took any query until 0.7.9.
        ("/v1/health?verbose=1", 400, "'verbose' is not a query parameter of this path"),
        ("/v1/health?x=%FF", 400, "'x' is not UTF-8 text"),
        ("/v1/health", 200, ""),
        # An id longer than any id: 0.7.6 ran the handler without one (500).
        ("/v1/persons/per_" + "a" * 37, 404, "is not a record id"),
        ("/v1/documents/doc_" + "a" * 200, 404, "is not a record id"),
    ]
    for target, want, words in cases:
        s.sendall(request("GET", target))
        status, _, body = reply(f)
        try:
            got = json.loads(body)
        except ValueError:
            fail("%s: the %d's body is not JSON: %r" % (target[:60], status, body[:200]))
        message = got.get("error", {}).get("message", "") if status >= 400 else ""
        if status != want or words not in message or \
                (want == 400 and got["error"].get("code") != "bad_query"):
            fail("%s: %d %r, wanted %d with %r" % (target[:60], status, got, want, words))
    s.sendall(request("GET", "/v1/health"))
    status, _, _ = reply(f)
    if status != 200:
        fail("health after them: %d" % status)
    print("%d queries refused or answered as they should" % len(cases))


if __name__ == "__main__":
    mode = sys.argv[2]
    if mode == "pipeline":
        pipeline(sys.argv[1], int(sys.argv[3]), int(sys.argv[4]),
                 sys.argv[5] if len(sys.argv) > 5 else "W")
    elif mode == "audit":
        audit(sys.argv[1], int(sys.argv[3]))
    elif mode == "close":
        close(sys.argv[1])
    elif mode == "rawpath":
        rawpath(sys.argv[1])
    elif mode == "query":
        query(sys.argv[1])
    else:
        fail("unknown mode " + mode)
