/*
 * Workloads: which cgroup, systemd unit, container and Kubernetes pod
 * runs each process holding a selected socket.  Read from local state
 * only: PROC_ROOT/PID/cgroup and the container runtimes' own files,
 * each container's read once per audit.  A file that cannot be read or
 * parsed costs a null field, never the audit.
 */
#ifndef WORKLOAD_H
#define WORKLOAD_H

#include <stdbool.h>

#include "cgroup.h"
#include "hindex.h"
#include "table.h"

/* Where the runtimes keep their state (workload_dirs_from_env). */
struct workload_dirs {
	const char *cgroup_root;      /* /sys/fs/cgroup: the layout */
	const char *containerd_state; /* containerd's v2 task dir */
	const char *containerd_runc;  /* runc state under containerd */
	const char *runc_state;	      /* runc's own state */
	const char *storage_root;     /* containers/storage (podman, CRI-O) */
	const char *storage_runroot;  /* its run root */
	const char *docker_root;      /* docker's data root */
};

/* The defaults, each overridden by its environment variable
 * (SOCKAUDIT_CGROUP_ROOT, SOCKAUDIT_CONTAINERD_STATE, ...). */
void workload_dirs_from_env(struct workload_dirs *d);

/* A container or, when is_container is false, a pod known only from a
 * cgroup path; shared by every process in it.  NULL strings: unknown. */
struct wl_container {
	char *key;	 /* cache key: the id, or "pod:" UID */
	bool is_container;
	char *id;
	const char *runtime; /* cgroup_runtime_name, NULL when unknown */
	char *name;
	bool has_pod;
	char *pod_namespace, *pod_name, *pod_uid, *pod_container;
};

struct workload {
	bool resolved;
	char *cgroup;	  /* NULL: unreadable */
	char *unit;	  /* NULL: ps prints "-" */
	char *user_unit;
	const struct wl_container *c; /* NULL: neither container nor pod */
};

struct workload_set {
	struct workload *v;	/* aligned with sock_table.procs */
	size_t n;
	/* Resolved entries of v by proc_rec.cgroup_key (the non-zero ones):
	 * a process whose key is here shares that entry. */
	struct hindex by_cgroup;
	struct wl_container **cache;
	size_t ncache, cache_cap;
	enum cgroup_layout layout;
	char *root;		/* PID 1's cgroup root, for units */
	char *cgbuf;		/* one /proc/PID/cgroup at a time */
	unsigned state_errors;	/* runtime files unreadable or malformed */
	int state_errno;
	unsigned files_read;	/* runtime files read (for tests: caching) */
};

struct workload_opts {
	const char *proc_root;		/* "/proc" outside tests */
	const struct workload_dirs *dirs;
	enum cgroup_layout layout;	/* CG_LAYOUT_UNKNOWN: detect */
};

/*
 * Resolve the workloads of processes procs[0..n) of the table (indices
 * into t->procs; sets proc_rec.wl).  A process that exited or whose files
 * are unreadable gets null fields.  Returns 0 or -ENOMEM.
 */
int workload_resolve(struct workload_set *ws, struct sock_table *t,
		     const uint32_t *procs, size_t n,
		     const struct workload_opts *o);
void workload_free(struct workload_set *ws);

/* The layout of the hierarchy mounted at root (statfs). */
enum cgroup_layout workload_layout(const char *cgroup_root);

enum workload_kind { WL_UNIT, WL_CONTAINER, WL_POD };

/*
 * Whether a process's workload is the one a user named: a unit or user
 * unit; a container's full id, a prefix of at least 12 of its hex digits,
 * or its name; a pod's "NAMESPACE/NAME" or "NAME".  For --unit,
 * --container and --pod.
 */
bool workload_matches(const struct workload *w, enum workload_kind k,
		      const char *arg);

/*
 * The processes of the named workloads, for --unit, --container and
 * --pod: every process of PROC_ROOT whose workload matches one of
 * args[0..nargs) (workload_matches), in a malloc'd *pids in ascending
 * order (NULL and 0 when none: not an error).  They can then be audited
 * as --pid audits processes, each in its own network namespace.
 * Processes that exit during the scan are skipped.  Returns 0, or
 * -errno when PROC_ROOT cannot be read or memory runs out.
 */
int workload_pids(const struct workload_opts *o, enum workload_kind k,
		  const char *const *args, size_t nargs, pid_t **pids,
		  size_t *npids);

/* The workloads a user named: --unit, --container, --pod, by kind. */
struct workload_query {
	char *const *args[3]; /* by enum workload_kind */
	size_t nargs[3];
};

/* Whether a query names anything at all. */
bool workload_query_given(const struct workload_query *q);

/*
 * Whether a process is of the query's workloads: for every kind given,
 * it matches one of its names (workload_matches).  Kinds combine as
 * selections do: all must match.
 */
bool workload_query_matches(const struct workload *w,
			    const struct workload_query *q);

/*
 * The processes of PROC_ROOT that workload_query_matches, in a malloc'd
 * *pids in ascending order (NULL and 0 when none: not an error), in one
 * pass over PROC_ROOT.  A --container name that is a hex prefix of two
 * or more running containers' ids is ambiguous: -EEXIST with the name
 * in *ambiguous.  Returns 0 or -errno.
 */
int workload_select(const struct workload_opts *o,
		    const struct workload_query *q, pid_t **pids, size_t *npids,
		    const char **ambiguous);

/*
 * The group key of a process for --group-by unit|container|pod: its unit
 * (else user unit), container id, or pod "NAMESPACE/NAME" (else its uid).
 * NULL when it has none (the null group).
 */
const char *workload_key(const struct workload *w, enum workload_kind k,
			 char *buf, size_t size);

/*
 * A short label for tables: pod "NAMESPACE/NAME", else the container's
 * name or 12-digit id, else the pod's uid, else the unit, else the user
 * unit; "-" for none.
 */
const char *workload_label(const struct workload *w, char *buf, size_t size);

#endif
