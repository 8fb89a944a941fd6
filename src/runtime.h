/*
 * The container runtimes' state files, read for workload.c: bounded
 * reads that refuse symlinks, FIFOs and oversized files, and the names
 * and pod each runtime's files give a container.
 */
#ifndef RUNTIME_H
#define RUNTIME_H

#include "cgroup.h"
#include "workload.h"

/*
 * Read a whole regular file of at most max bytes into buf (max + 1
 * bytes), NUL-terminated: for /proc files, whose size stat does not
 * give.  A final symlink or anything but a regular file is refused.
 * Returns the length, or -errno (-EFBIG: larger).
 */
long runtime_read_file(const char *path, char *buf, size_t max);

/* Set *dst to a copy of src (at most CONTAINER_NAME_MAX bytes) unless
 * *dst is set or src is NULL or empty.  Returns 0 or -ENOMEM. */
int runtime_set_str(char **dst, const char *src);

/*
 * Fill a container (its id set) from its runtime's files: the runtime
 * the cgroup path named first, then, for an id alone (RT_UNKNOWN, as
 * cgroupfs drivers write), containerd, containers/storage, docker and
 * runc in turn.  Files that cannot be read are counted in
 * ws->state_errors.  Returns 0 or -ENOMEM.
 */
int runtime_enrich(struct workload_set *ws, struct wl_container *c,
		   enum container_runtime rt, const struct workload_dirs *d);

#endif
