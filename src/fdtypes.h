/*
 * fd_types: the descriptors of the processes in a report, by kind (tcp,
 * udp, unix, other_socket, pipe, anon_inode, file, other), whatever
 * socket kinds were selected.
 */
#ifndef FDTYPES_H
#define FDTYPES_H

#include <stddef.h>
#include <stdint.h>

#include "fdscan.h"
#include "table.h"

/*
 * Fill proc_rec.fd_types of the table's processes listed in `procs`
 * (table indices): the kinds fdscan read from the links, and each
 * socket's kind from the table when a source dumped it, else from its
 * system.sockprotoname attribute (read only for those, and only for
 * these processes).  A descriptor closed meanwhile counts as other.
 * Returns 0 or -errno (a /proc read that failed otherwise than for a
 * process or descriptor gone).
 */
int fdtypes_fill(struct sock_table *t, const struct fdscan *scan,
		 const char *proc_root, const uint32_t *procs, size_t nprocs);

/*
 * fdtypes_fill for every process of the table that scan lists: for a
 * scan read with the BPF iterators, where every socket's kind is known
 * and nothing is read from /proc, so that the scan can be freed before
 * the audit.  Returns 0 or -errno as fdtypes_fill.
 */
int fdtypes_fill_all(struct sock_table *t, const struct fdscan *scan,
		     const char *proc_root);

/* The kind of a socket by its system.sockprotoname ("TCP", "UDPv6",
 * "UNIX-STREAM", ...).  No I/O. */
enum fd_type fdtypes_of_protoname(const char *name);

#endif
