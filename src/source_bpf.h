/*
 * Source: TCP sockets read with a BPF iterator (iter/tcp), and the
 * loaded BPF programs that fdscan_bpf.c reads descriptors with.
 *
 * The programs (src/bpf/sockaudit.bpf.c) are compiled into the binary.
 * A build without clang, bpftool or libbpf has none: every call then
 * returns -EOPNOTSUPP.
 */
#ifndef SOURCE_BPF_H
#define SOURCE_BPF_H

#include <stddef.h>
#include <stdint.h>

#include "table.h"

/* Whether this binary was built with the BPF programs. */
int bpf_built(void);

/*
 * Load the programs, once per process (later calls return the first
 * result).  Returns 0, or -errno: -EOPNOTSUPP (built without BPF),
 * -ENOENT (the kernel has no BTF: /sys/kernel/btf/vmlinux), -EPERM
 * (no CAP_BPF and CAP_PERFMON), or what the kernel said.
 */
int bpf_load(void);

/* Why bpf_load failed, for one line to the user: what is missing. */
const char *bpf_load_error(int err);

/*
 * Add the TCP sockets of the network namespace the thread is in to the
 * table, like netlink_dump: those of the selected families whose state
 * is in `states`, and every listener (grouping looks for a listener of
 * either family).  Returns 0 or -errno (bpf_load's, a read error,
 * -EBADMSG for a short record, -ENOMEM).
 */
int bpf_dump_tcp(struct sock_table *t, unsigned families, uint32_t states);

/* The iterators: TCP sockets, descriptors, processes. */
enum bpf_iter_kind { BPF_ITER_TCP, BPF_ITER_TASK_FILE, BPF_ITER_TASK };

/*
 * The records of one iterator, read a chunk at a time: each(buf, len,
 * arg) gets whole records of rec_size bytes (len a multiple of it), in
 * order, until the end or until it returns non-zero.  No buffer of the
 * whole: memory stays flat however many records there are.  Returns 0,
 * each's first non-zero result, -EBADMSG when the records end in a
 * piece of one, or -errno.
 */
int bpf_read_iter_each(enum bpf_iter_kind kind, size_t rec_size,
		       int (*each)(const void *buf, size_t len, void *arg), void *arg);

/*
 * Decode a buffer of iter/tcp records into the table (no I/O; tests
 * feed it records directly).  Returns 0, -EBADMSG when len is not a
 * whole number of records, or -ENOMEM.
 */
int bpf_decode_tcp(const void *buf, size_t len, struct sock_table *t,
		   unsigned families, uint32_t states);

#endif
