"""hostile.py - misbehaving clients for t-hostile.sh, over the daemon's socket.

  hostile.py SOCK idle N        open N connections, print "ready N", hold them
                                until SIGUSR1, then print how many the daemon
                                had closed
  hostile.py SOCK slow          send a request a byte every 0.3 s; print
                                "closed after S s: STATUS" once the daemon hangs
                                up (STATUS: the reply's status line, or "none")
  hostile.py SOCK raw HEX       send those bytes, print the reply's status line
                                (or "closed")
  hostile.py SOCK stall N       send N requests at once and read no reply, so
                                the daemon is left writing; print "ready",
                                hold until SIGUSR1
  hostile.py SOCK flood MIB N   on N connections at once, a POST whose body is
                                MIB MiB, sent as fast as the daemon takes it;
                                print "cut K of N" (K cut off before the end)
                                and then the status lines those K were sent
  hostile.py SOCK eager MIB     a POST of MIB MiB from a client that reads only
                                when it cannot send; print "read while sending:
                                STATUS", "send failed after N bytes" or "sent
                                all N bytes"
"""
import select
import signal
import socket
import sys
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def status_line(s):
    s.settimeout(10)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return data.split(b"\r\n")[0].decode("latin-1") if data else "closed"


def idle(path, n):
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    conns = [connect(path) for _ in range(n)]
    print("ready", len(conns), flush=True)
    signal.sigwait([signal.SIGUSR1])
    closed = 0
    for s in conns:
        s.setblocking(False)
        try:
            closed += s.recv(1) == b""
        except BlockingIOError:
            pass
        except ConnectionResetError:
            closed += 1
    print("closed", closed, flush=True)


def slow(path):
    s = connect(path)
    req = b"GET /v1/health HTTP/1.1\r\nHost: r\r\nX-Padding: " + b"a" * 1000 + b"\r\n\r\n"
    t0 = time.time()
    got = b""
    for b in req:
        try:
            s.send(bytes([b]))
        except (BrokenPipeError, ConnectionResetError):
            break
        s.settimeout(0.3)
        try:
            data = s.recv(4096)
            if data == b"":
                break
            got += data
        except socket.timeout:
            pass
        except ConnectionResetError:
            break
    got += reply_left(s)
    print("closed after %.1f s: %s" % (time.time() - t0, status_of(got)), flush=True)


def reply_left(s):
    """What the daemon sent before it hung up, still to be read."""
    s.settimeout(1)
    got = b""
    try:
        while True:
            data = s.recv(4096)
            if data == b"":
                break
            got += data
    except (OSError, socket.timeout):
        pass
    return got


def status_of(reply):
    return reply.split(b"\r\n", 1)[0].decode() if reply else "none"


def stall(path, n):
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    s = connect(path)
    s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: r\r\n\r\n" * n)
    print("ready", flush=True)
    signal.sigwait([signal.SIGUSR1])
    s.close()


def flood(path, mib, n):
    head = (b"POST /v1/persons HTTP/1.1\r\nHost: r\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (mib << 20))
    chunk = b"[" * 65536
    conns = [connect(path) for _ in range(n)]
    sent = [0] * n
    cut = 0
    told = []
    for s in conns:
        s.sendall(head)
        s.setblocking(False)
    live = set(range(n))
    while live:  # round robin, so the daemon holds every body at once if it lets them in
        for i in list(live):
            try:
                sent[i] += conns[i].send(chunk)
            except BlockingIOError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                cut += 1
                live.discard(i)
                told.append(status_of(reply_left(conns[i])))
                continue
            if sent[i] >= mib << 20:
                live.discard(i)
        time.sleep(0.0005)
    print("cut %d of %d" % (cut, n), flush=True)
    for line in sorted(told):
        print(line, flush=True)
    for s in conns:
        s.close()


def eager(path, mib):
    """A client that sends whenever the socket takes more and reads only when it
    cannot send for a while, as libcurl may while it uploads: a daemon that
    shuts the socket outright fails its next send before it reads the reply."""
    s = connect(path)
    s.sendall(b"POST /v1/persons HTTP/1.1\r\nHost: r\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % (mib << 20))
    s.setblocking(False)
    chunk, sent, t0 = b"[" * 65536, 0, time.time()
    while sent < mib << 20:
        try:
            sent += s.send(chunk)
            continue
        except BlockingIOError:
            pass
        except (BrokenPipeError, ConnectionResetError):
            print("send failed after %d bytes" % sent, flush=True)
            return
        if select.select([], [s], [], 0.2)[1]:
            continue  # room to send again within 0.2 s: send before reading
        if select.select([s], [], [], 5)[0]:
            print("read while sending: %s" % status_of(reply_left(s)), flush=True)
            return
        if time.time() - t0 > 30:
            break
    print("sent all %d bytes" % sent, flush=True)


def raw(path, data):
    s = connect(path)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    except (BrokenPipeError, ConnectionResetError):
        pass
    print(status_line(s), flush=True)


if __name__ == "__main__":
    path, mode = sys.argv[1], sys.argv[2]
    if mode == "idle":
        idle(path, int(sys.argv[3]))
    elif mode == "slow":
        slow(path)
    elif mode == "stall":
        stall(path, int(sys.argv[3]))
    elif mode == "eager":
        eager(path, int(sys.argv[3]))
    elif mode == "flood":
        flood(path, int(sys.argv[3]), int(sys.argv[4]))
    else:
        raw(path, bytes.fromhex(sys.argv[3]))
