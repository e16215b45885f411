"""keepalive.py - one client on one keep-alive connection, for t-crash.sh: a
lone client as fast as it is answered, each write its own commit.

  keepalive.py SOCK persons N TAG
        create N persons on one connection, each read back on it; print each
        id once its create is acknowledged (flushed); stop at the first failure
        (exit 1).
"""
import http.client
import json
import socket
import sys


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("rosterd", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def call(conn, method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    conn.request(method, url, body=data, headers=headers)
    resp = conn.getresponse()
    reply = resp.read()
    if resp.status >= 300:
        raise RuntimeError("%s %s: %d %s" % (method, url, resp.status, reply[:200]))
    return json.loads(reply)


def persons(path, n, tag):
    conn = UnixConnection(path)
    for i in range(n):
        person = {"name": "Lone Client", "birth_date": "1990-01-01", "nationality": "DE",
                  "employer": "E", "segment": "upstream", "expertise": ["metallurgy"],
                  "national_id": "L%s-%d" % (tag, i)}
        try:
            pid = call(conn, "POST", "/v1/persons", person)["id"]
            print(pid, flush=True)
            if call(conn, "GET", "/v1/persons/" + pid)["id"] != pid:
                raise RuntimeError("read back another record")
        except (OSError, RuntimeError, http.client.HTTPException, ValueError) as e:
            print("stopped: %s" % e, file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    if sys.argv[2] == "persons":
        persons(sys.argv[1], int(sys.argv[3]), sys.argv[4])
