"""burst.py SOCKET N METHOD PATH [BODY]: sends N identical requests at once, on N
connections opened beforehand, then prints each reply's status, one a line. With
the writer busy (lib.sh's writer_busy), the N requests queue up and share its
next transaction."""
import socket
import sys

path, n, method, target = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
body = sys.argv[5].encode() if len(sys.argv) > 5 else b""
request = (f"{method} {target} HTTP/1.1\r\nHost: r\r\nConnection: close\r\n"
           f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
conns = [socket.socket(socket.AF_UNIX) for _ in range(n)]
for c in conns:
    c.connect(path)
for c in conns:
    c.sendall(request)
for c in conns:
    reply = b""
    while chunk := c.recv(65536):
        reply += chunk
    print(reply.split(b" ")[1].decode() if reply else "closed")
