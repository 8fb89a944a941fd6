/*
 * Network namespaces: which ones an audit reads (--pid, --netns,
 * --all-netns), their names under /run/netns, and entering one on the
 * calling thread and coming back to our own.
 *
 * A namespace is known by the inode of its nsfs file (what
 * `readlink /proc/PID/ns/net` shows as net:[INODE]).  Sockets of our own
 * namespace keep sock_rec.netns 0; those of another carry its inode.
 */
#ifndef NETNS_H
#define NETNS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Where `ip netns add NAME` mounts a namespace (iproute2's
 * NETNS_RUN_DIR; /var/run is a link to /run). */
#define NETNS_RUN_DIR "/run/netns"

/* How a namespace came to be read. */
enum netns_via {
	NETNS_VIA_SELF, /* ours */
	NETNS_VIA_PID,	/* the namespace of a --pid */
	NETNS_VIA_ARG,	/* --netns NAME|PATH */
	NETNS_VIA_SCAN, /* --all-netns: found among processes or names */
};

struct netns_target {
	uint32_t ino;	 /* nsfs inode: the namespace's identity */
	uint32_t tag;	 /* sock_rec.netns of its sockets: 0 for ours */
	enum netns_via via;
	pid_t pid;	 /* VIA_PID: the --pid; VIA_SCAN: a process in it, or 0 */
	const char *arg; /* VIA_ARG: --netns as given */
	char *path;	 /* what is opened to enter it */
	char *name;	 /* its name under the run directory, or NULL */
	int fd;		 /* the open nsfs file, -1 when not open */
	int err;	 /* -errno: it could not be opened or entered */
	bool audited;	 /* its sockets were dumped into the table */
};

struct netns_set {
	const char *proc_root; /* "/proc" outside tests */
	const char *run_dir;   /* NETNS_RUN_DIR outside tests */
	uint32_t self;	       /* our namespace's inode, 0 when unreadable */
	int self_fd;	       /* our namespace, to come back to; -1 until needed */
	struct netns_target *v;
	size_t n, cap;
	/* The report names namespaces: --netns, --all-netns, or a --pid in
	 * another namespace. */
	bool shown;
	/* netns_scan: processes whose ns/net could not be read. */
	unsigned unreadable;
	int unreadable_err;
};

/*
 * Start an empty set and read our own namespace's inode.  Returns 0, or
 * -errno when PROC_ROOT/thread-self/ns/net cannot be read (set->self is
 * then 0; the set is usable and must be freed either way).
 */
int netns_init(struct netns_set *set, const char *proc_root,
	       const char *run_dir);
void netns_free(struct netns_set *set);

/* Our own namespace.  Returns 0 or -ENOMEM. */
int netns_add_self(struct netns_set *set);

/*
 * The namespace process `pid` is in (PROC_ROOT/PID/ns/net), held open.
 * Returns 0, or -errno: -ENOENT the process is gone, -EACCES/-EPERM its
 * namespace may not be read.
 */
int netns_add_pid(struct netns_set *set, pid_t pid);

/*
 * --netns ARG: a name under the run directory, or a path when ARG holds
 * a '/' (any nsfs file: /proc/PID/ns/net, a bind mount).  Opened and
 * held.  Returns 0, or -errno: -ENOENT no such name or path, -EINVAL
 * not a network namespace, -EACCES and others from open(2).
 */
int netns_add_arg(struct netns_set *set, const char *arg);

/* The path --netns ARG stands for, into buf. */
const char *netns_arg_path(const struct netns_set *set, const char *arg,
			   char *buf, size_t len);

/*
 * --all-netns: every distinct namespace among PROC_ROOT/PID/ns/net and
 * every namespace mounted in the run directory.  Processes whose ns/net
 * may not be read are counted in set->unreadable.  Namespaces are opened
 * only when entered.  Returns 0, or -errno when PROC_ROOT cannot be
 * listed or memory runs out.
 */
int netns_scan(struct netns_set *set);

/* Give every namespace of the set its name from the run directory (the
 * first in byte order when it has several).  Returns 0 or -errno (no
 * memory, the directory not readable for another reason than absence). */
int netns_name_all(struct netns_set *set);

/*
 * Enter target i on the calling thread (nothing to do for ours).
 * Returns 0, or -errno (also kept in its err): -ENOENT for a namespace
 * found by netns_scan that no longer exists, -EPERM without the
 * privilege, -EINVAL when the file is not a network namespace.  The
 * thread is then still in our namespace.
 */
int netns_enter(struct netns_set *set, size_t i);

/* Come back to our namespace after netns_enter.  Returns 0 or -errno:
 * the thread is left in another namespace, which the caller must treat
 * as fatal. */
int netns_return(struct netns_set *set);

/* Whether a netns_return ever failed in this process: a long-running
 * caller (the exporter) must stop, as a thread is left in another
 * namespace. */
bool netns_lost(void);

/* The target whose sockets carry sock_rec.netns `tag`, or NULL. */
const struct netns_target *netns_by_tag(const struct netns_set *set,
					uint32_t tag);

/* The inode printed for sock_rec.netns `tag` (0: ours). */
uint32_t netns_ino_of(const struct netns_set *set, uint32_t tag);

#endif
