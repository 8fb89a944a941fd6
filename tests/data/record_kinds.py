#!/usr/bin/env python3
"""Record the UDP and UNIX fixtures of test_unit_kinds.

Run as root in a fresh network namespace, so that only these sockets exist:

    unshare -n sh -c 'ip link set lo up && python3 tests/data/record_kinds.py tests/data'

It opens:
  - UDP 127.0.0.1:5353 unconnected, holding 3 unread datagrams, and a
    client connected to it from 127.0.0.1;
  - UDP 127.0.0.1:5354 with a small receive buffer, flooded until the
    kernel drops datagrams (drops > 0);
  - UDP [::1]:5355 unconnected and a client connected to it over ::1;
  - a UNIX stream listener on /tmp/sockaudit-rec.sock with one client
    (the accepted end holding 7 unread bytes);
  - a UNIX stream listener on the abstract name "sockaudit-rec" with two
    clients, the server end of the second closed (its client peer-closed);
  - a seqpacket socketpair, a datagram socketpair, an unbound datagram
    socket;
then records, at the same moment:
  - proc/net/udp, proc/net/udp6, proc/net/unix;
  - netlink/dump_udp.bin (AF_INET, seq 2000), dump_udp6.bin (AF_INET6,
    seq 2001): IPPROTO_UDP, every state, INET_DIAG_SKMEMINFO asked for;
  - netlink/dump_unix.bin (seq 2002): AF_UNIX, every state, name, peer,
    queues, VFS, uid asked for (the shutdown state always comes).
The port ids are printed; the tests read them from the dumps.
"""
import os
import socket
import struct
import sys
import time

from record import dump

INET_DIAG_SKMEMINFO = 7
UDIAG_SHOW = 0x01 | 0x02 | 0x04 | 0x10 | 0x40  # name vfs peer rqlen uid
PATH = '/tmp/sockaudit-rec.sock'


def open_sockets():
    keep = []
    u1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u1.bind(('127.0.0.1', 5353))
    uc = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    uc.connect(('127.0.0.1', 5353))
    for _ in range(3):
        uc.send(b'q' * 10)
    keep += [u1, uc]
    u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u2.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    u2.bind(('127.0.0.1', 5354))
    f = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(200):
        f.sendto(b'x' * 1000, ('127.0.0.1', 5354))
    f.close()
    keep.append(u2)
    u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    u6.bind(('::1', 5355))
    u6c = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    u6c.connect(('::1', 5355))
    keep += [u6, u6c]

    try:
        os.unlink(PATH)
    except FileNotFoundError:
        pass
    lp = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lp.bind(PATH)
    lp.listen(4)
    cp = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    cp.connect(PATH)
    sp, _ = lp.accept()
    cp.sendall(b'1234567')
    keep += [lp, cp, sp]
    la = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    la.bind('\0sockaudit-rec')
    la.listen(4)
    ca = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ca.connect('\0sockaudit-rec')
    sa, _ = la.accept()
    cb = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    cb.connect('\0sockaudit-rec')
    sb, _ = la.accept()
    sb.close()
    keep += [la, ca, sa, cb]
    keep += list(socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET))
    keep += list(socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM))
    keep.append(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
    return keep


def udp_req(family):
    return struct.pack('=BBBBI', family, socket.IPPROTO_UDP,
                       1 << (INET_DIAG_SKMEMINFO - 1), 0, 0xfff) + b'\0' * 48


def unix_req():
    # struct unix_diag_req: family, protocol, pad, states, ino, show, cookie
    return struct.pack('=BBHIII', socket.AF_UNIX, 0, 0, 0xffffffff, 0,
                       UDIAG_SHOW) + b'\0' * 8


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else 'tests/data'
    keep = open_sockets()
    time.sleep(0.2)
    d4, p4 = dump(udp_req(socket.AF_INET), 2000)
    d6, p6 = dump(udp_req(socket.AF_INET6), 2001)
    dx, px = dump(unix_req(), 2002)
    os.makedirs(os.path.join(out, 'netlink'), exist_ok=True)
    os.makedirs(os.path.join(out, 'proc', 'net'), exist_ok=True)
    for name, data in (('dump_udp.bin', d4), ('dump_udp6.bin', d6),
                       ('dump_unix.bin', dx)):
        with open(os.path.join(out, 'netlink', name), 'wb') as f:
            f.write(data)
    for name in ('udp', 'udp6', 'unix'):
        with open('/proc/net/' + name, 'rb') as src, \
                open(os.path.join(out, 'proc', 'net', name), 'wb') as dst:
            dst.write(src.read())
    print('port ids', p4, p6, px)
    del keep
    os.unlink(PATH)


if __name__ == '__main__':
    main()
