#!/usr/bin/env python3
"""Record the fixtures of the unit tests (test_unit_procnet, test_unit_netlink).

Run as root in a fresh network namespace, so that only these sockets exist:

    unshare -n sh -c 'ip link set lo up && python3 tests/data/record.py tests/data'

It opens, on loopback:
  - LISTEN 127.0.0.1:8080, and to it
      an ESTABLISHED pair, the server end holding 5 unread bytes,
      a pair whose client closed: CLOSE-WAIT on the server, FIN-WAIT-2 client,
      a pair closed both ways: TIME-WAIT on the client;
  - LISTEN [::]:9090 (dual stack), and to it
      an ESTABLISHED pair over ::1, the server end holding 100 unread bytes,
      an ESTABLISHED pair from 127.0.0.1 (IPv4-mapped on the server end);
then waits 1.2 s and records, at the same moment:
  - proc/net/tcp, proc/net/tcp6 (copies of /proc/net/tcp*),
  - netlink/dump_inet.bin, netlink/dump_inet6.bin: every byte of a
    SOCK_DIAG_BY_FAMILY dump (IPPROTO_TCP, all states, INET_DIAG_INFO
    asked for), seq 1000 (AF_INET) and 1001 (AF_INET6), as read from the
    socket, up to and including NLMSG_DONE.
The tests check the port ids, inodes and times of the recording they
ship with; after recording again, update the constants they name.
"""
import os
import socket
import struct
import sys
import time

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST_DUMP = 0x301
NLMSG_ERROR, NLMSG_DONE = 2, 3
INET_DIAG_INFO = 2


def open_sockets():
    keep = []
    l4 = socket.socket()
    l4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l4.bind(('127.0.0.1', 8080))
    l4.listen(16)
    keep.append(l4)
    c1 = socket.create_connection(('127.0.0.1', 8080))
    s1, _ = l4.accept()
    keep += [c1, s1]
    c1.sendall(b'hello')
    c2 = socket.create_connection(('127.0.0.1', 8080))
    s2, _ = l4.accept()
    keep.append(s2)
    c2.close()
    c3 = socket.create_connection(('127.0.0.1', 8080))
    s3, _ = l4.accept()
    c3.close()
    time.sleep(0.05)
    s3.close()
    l6 = socket.socket(socket.AF_INET6)
    l6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    l6.bind(('::', 9090))
    l6.listen(8)
    keep.append(l6)
    c4 = socket.create_connection(('::1', 9090))
    s4, _ = l6.accept()
    keep += [c4, s4]
    c5 = socket.create_connection(('127.0.0.1', 9090))
    s5, _ = l6.accept()
    keep += [c5, s5]
    c4.sendall(b'x' * 100)
    return keep


def tcp_req(family):
    """inet_diag_req_v2 for every TCP socket of family, with tcp_info."""
    return struct.pack('=BBBBI', family, socket.IPPROTO_TCP,
                       1 << (INET_DIAG_INFO - 1), 0, 0xfff) + b'\0' * 48


def dump(req, seq):
    """One sock_diag dump of request req; returns (bytes, our port id).
    record_kinds.py uses it too."""
    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
    nl.bind((0, 0))
    hdr = struct.pack('=IHHII', 16 + len(req), SOCK_DIAG_BY_FAMILY,
                      NLM_F_REQUEST_DUMP, seq, 0)
    nl.send(hdr + req)
    data = b''
    done = False
    while not done:
        b = nl.recv(65536)
        data += b
        off = 0
        while off + 16 <= len(b):
            ln, ty = struct.unpack_from('=IH', b, off)
            if ty in (NLMSG_DONE, NLMSG_ERROR):
                done = True
            off += (ln + 3) & ~3
    portid = nl.getsockname()[0]
    nl.close()
    return data, portid


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else 'tests/data'
    keep = open_sockets()
    time.sleep(1.2)
    d4, p4 = dump(tcp_req(socket.AF_INET), 1000)
    d6, p6 = dump(tcp_req(socket.AF_INET6), 1001)
    os.makedirs(os.path.join(out, 'netlink'), exist_ok=True)
    os.makedirs(os.path.join(out, 'proc', 'net'), exist_ok=True)
    with open(os.path.join(out, 'netlink', 'dump_inet.bin'), 'wb') as f:
        f.write(d4)
    with open(os.path.join(out, 'netlink', 'dump_inet6.bin'), 'wb') as f:
        f.write(d6)
    for name in ('tcp', 'tcp6'):
        with open('/proc/net/' + name, 'rb') as src, \
                open(os.path.join(out, 'proc', 'net', name), 'wb') as dst:
            dst.write(src.read())
    print('port ids', p4, p6)
    del keep


if __name__ == '__main__':
    main()
