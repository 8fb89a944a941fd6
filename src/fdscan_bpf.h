/*
 * fdscan from BPF iterators: the socket descriptors, descriptor counts,
 * comm and RLIMIT_NOFILE of every process, read with iter/task_file and
 * iter/task instead of PROC_ROOT/PID/fd, into the same struct fdscan
 * (owners.c joins it the same way).
 */
#ifndef FDSCAN_BPF_H
#define FDSCAN_BPF_H

#include <stddef.h>
#include <sys/types.h>

#include "fdscan.h"

/*
 * Fill s as fdscan_start and fdscan_wait would (only `pids` when
 * npids > 0), with no thread left running: fdscan_wait and fdscan_free
 * work on it as usual.  Only processes that hold sockets are listed,
 * with their socket descriptors; fds and socket_fds count every
 * descriptor.  Returns 0 or -errno (bpf_load's, a read error, -EBADMSG
 * for a short record, -ENOMEM) with nothing to free.
 */
int fdscan_bpf(struct fdscan *s, const pid_t *pids, size_t npids);

/*
 * Decode the records of iter/task_file (files, flen bytes) and iter/task
 * (tasks, tlen bytes) into s (no I/O; tests feed it records).  Returns
 * 0, -EBADMSG or -ENOMEM; on error s holds nothing to free.
 */
int fdscan_bpf_decode(struct fdscan *s, const void *files, size_t flen,
		      const void *tasks, size_t tlen, const pid_t *pids,
		      size_t npids);

/*
 * Whether the descriptors of this audit are read with the iterators:
 * when the source may be BPF (`may`) and the programs load.  Then s is
 * made empty (fdscan_free works on it) until fdscan_bpf_or_proc.
 */
int fdscan_bpf_plan(struct fdscan *s, int may);

/*
 * fdscan_bpf; when it fails and not `strict` (--source auto), the /proc
 * scan (fdscan_start) instead.  Returns 0 or -errno.
 */
int fdscan_bpf_or_proc(struct fdscan *s, const char *proc_root,
		       const pid_t *pids, size_t npids, int strict);

#endif
