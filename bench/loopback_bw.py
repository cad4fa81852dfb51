#!/usr/bin/env python3
"""Loopback TCP bandwidth for one message of N bytes, as the overhead goal's
'bytes / loopback bandwidth' term: a client sends N bytes, a server in another
process receives them into a preallocated buffer and answers one byte; the
median over R rounds of that round trip, less the median of a 1-byte round
trip, is the time the N bytes took. Usage: loopback_bw.py [N ...] (default
602112 187000)."""
import os
import socket
import statistics
import sys
import time

ROUNDS = 300


def serve(listener, sizes):
    conn, _ = listener.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = bytearray(max(sizes))
    view = memoryview(buf)
    for n in [1] * ROUNDS + [s for s in sizes for _ in range(ROUNDS)]:
        got = 0
        while got < n:
            r = conn.recv_into(view[got:n])
            if r == 0:
                return
            got += r
        conn.sendall(b"a")


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [602112, 187000]
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    if os.fork() == 0:
        serve(listener, sizes)
        os._exit(0)
    s = socket.create_connection(listener.getsockname())
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def rounds(n):
        data = bytes(n)
        times = []
        for _ in range(ROUNDS):
            t = time.perf_counter()
            s.sendall(data)
            s.recv(1)
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    base = rounds(1)
    print(f"loopback: 1-byte round trip {base * 1e3:.3f} ms (median of {ROUNDS})")
    for n in sizes:
        t = rounds(n) - base
        print(f"loopback: {n} bytes in {t * 1e3:.3f} ms = {n / t / 1e9:.2f} GB/s "
              f"-> overhead goal 0.5 + {t * 1e3:.3f} = {0.5 + t * 1e3:.3f} ms")
    s.close()
    os.wait()


if __name__ == "__main__":
    main()
