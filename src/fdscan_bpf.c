/*
 * fdscan from BPF iterators (see fdscan_bpf.h).  iter/task_file lists
 * the descriptors process by process, in order; iter/task gives each
 * process's comm and soft RLIMIT_NOFILE.  The two are read one after
 * the other, so a process may be in one and not the other: it then has
 * no comm and no limit, as when /proc/PID/comm and limits vanish.
 */
#include "fdscan_bpf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/records.h"
#include "sockaudit.h"
#include "source_bpf.h"
#include "vec.h"

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* Whether pid is one of pids, sorted (npids 0: every process is). */
static int wanted(pid_t pid, const pid_t *pids, size_t npids)
{
	return !npids || bsearch(&pid, pids, npids, sizeof(*pids), cmp_pid);
}

static int cmp_task(const void *a, const void *b)
{
	const struct sa_proc_rec *x = a, *y = b;

	return (x->tgid > y->tgid) - (x->tgid < y->tgid);
}

static int cmp_proc(const void *a, const void *b)
{
	const struct proc_fds *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* The task record of tgid in a sorted array, or NULL. */
static const struct sa_proc_rec *find_task(const struct sa_proc_rec *v,
					   size_t n, uint32_t tgid)
{
	struct sa_proc_rec key = { .tgid = tgid };

	if (!v || !n)
		return NULL;
	return bsearch(&key, v, n, sizeof(*v), cmp_task);
}

/* Start a process entry: its comm and limit from its task record. */
static void proc_begin(struct proc_fds *p, uint32_t tgid,
		       const struct sa_proc_rec *task)
{
	memset(p, 0, sizeof(*p));
	p->pid = (pid_t)tgid;
	if (!task)
		return;
	p->comm_len = (uint32_t)strnlen(task->comm, sizeof(task->comm));
	memcpy(p->comm, task->comm, p->comm_len);
	p->fd_limit = task->fd_limit; /* RLIM_INFINITY is FD_LIMIT_NONE */
	p->has_fd_limit = 1;
	p->cgroup_key = task->cgroups;
}

/* Add one descriptor record to its process.  Returns 0 or -ENOMEM. */
static int proc_add(struct proc_fds *p, const struct sa_fd_rec *f)
{
	static const enum fd_type file_type[] = {
		[SA_FILE_FILE] = FDT_FILE, [SA_FILE_PIPE] = FDT_PIPE,
		[SA_FILE_ANON_INODE] = FDT_ANON_INODE, [SA_FILE_OTHER] = FDT_OTHER,
	};

	p->fds++;
	if (f->kind == SA_FD_OTHER) {
		p->fd_types[f->state <= SA_FILE_OTHER ? file_type[f->state] : FDT_OTHER]++;
		return 0;
	}
	/* Every socket, as the /proc scan lists them: UDP and UNIX sockets
	 * are joined to their holders too, and fdtypes.c sorts them. */
	p->socket_fds++;
	if (VEC_GROW(p->socks, p->cap, p->nsocks))
		return -ENOMEM;
	p->socks[p->nsocks].fd = f->fd;
	p->socks[p->nsocks].inode = f->inode;
	/* What a dead socket is told by (owners.c), and a descriptor's
	 * kind (fdtypes.c), with no /proc read. */
	p->socks[p->nsocks].kind = f->kind == SA_FD_TCP ? FDS_TCP :
				   f->state == SA_SOCK_UDP ? FDS_UDP :
				   f->state == SA_SOCK_UNIX ? FDS_UNIX : FDS_OTHER;
	p->socks[p->nsocks].family = f->family;
	p->socks[p->nsocks].state = f->state;
	p->nsocks++;
	return 0;
}

/* Free what a failed decode built. */
static void procs_free(struct proc_fds *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].socks);
	free(v);
}

/*
 * The process entries of the descriptor records, one per run of the
 * same tgid (the iterator lists a process's descriptors together).
 * Returns the number of entries in *out, or -errno.
 */
static ssize_t build_procs(const unsigned char *files, size_t nf,
			   const struct sa_proc_rec *tasks, size_t nt,
			   const pid_t *pids, size_t npids,
			   struct proc_fds **out)
{
	struct proc_fds *v = NULL;
	size_t n = 0, cap = 0, i;
	uint32_t cur = 0, last = 0;
	int have = 0, want = 0;
	pid_t *sorted = NULL;

	/* The selection sorted, and asked once a run of records: --pid
	 * of thousands of processes is not a scan of them per descriptor. */
	if (npids) {
		sorted = malloc(npids * sizeof(*sorted));
		if (!sorted)
			return -ENOMEM;
		memcpy(sorted, pids, npids * sizeof(*sorted));
		qsort(sorted, npids, sizeof(*sorted), cmp_pid);
	}
	for (i = 0; i < nf; i++) {
		struct sa_fd_rec f;

		memcpy(&f, files + i * sizeof(f), sizeof(f));
		if (!f.tgid)
			continue;
		if (f.tgid != last || i == 0) {
			last = f.tgid;
			want = wanted((pid_t)f.tgid, sorted, npids);
		}
		if (!want)
			continue;
		if (!have || f.tgid != cur) {
			if (VEC_GROW(v, cap, n))
				goto nomem;
			proc_begin(&v[n++], f.tgid, find_task(tasks, nt, f.tgid));
			cur = f.tgid;
			have = 1;
		}
		if (proc_add(&v[n - 1], &f))
			goto nomem;
	}
	free(sorted);
	*out = v;
	return (ssize_t)n;
nomem:
	free(sorted);
	procs_free(v, n);
	return -ENOMEM;
}

int fdscan_bpf_decode(struct fdscan *s, const void *files, size_t flen,
		      const void *tasks, size_t tlen, const pid_t *pids,
		      size_t npids)
{
	struct sa_proc_rec *tv = NULL;
	size_t nt = tlen / sizeof(*tv);
	struct proc_fds *v = NULL;
	ssize_t n;

	memset(s, 0, sizeof(*s));
	s->procfd = -1;
	if (flen % sizeof(struct sa_fd_rec) || tlen % sizeof(*tv))
		return -EBADMSG;
	/* Copied to be aligned and sorted for the lookups. */
	if (nt) {
		tv = malloc(tlen);
		if (!tv)
			return -ENOMEM;
		memcpy(tv, tasks, tlen);
		qsort(tv, nt, sizeof(*tv), cmp_task);
	}
	n = build_procs(files, flen / sizeof(struct sa_fd_rec), tv, nt, pids,
			npids, &v);
	free(tv);
	if (n < 0)
		return (int)n;
	/* The same order as the /proc scan: ascending PID. */
	if (n > 1)
		qsort(v, (size_t)n, sizeof(*v), cmp_proc);
	s->procs = v;
	s->nprocs = (size_t)n;
	return 0;
}

int fdscan_bpf(struct fdscan *s, const pid_t *pids, size_t npids)
{
	void *files = NULL, *tasks = NULL;
	size_t flen = 0, tlen = 0;
	int rc;

	memset(s, 0, sizeof(*s));
	s->procfd = -1;
	rc = bpf_read_iter(BPF_ITER_TASK_FILE, &files, &flen);
	if (!rc)
		rc = bpf_read_iter(BPF_ITER_TASK, &tasks, &tlen);
	if (!rc)
		rc = fdscan_bpf_decode(s, files, flen, tasks, tlen, pids, npids);
	free(files);
	free(tasks);
	return rc;
}

int fdscan_bpf_plan(struct fdscan *s, int may)
{
	if (!may || bpf_load() != 0)
		return 0;
	memset(s, 0, sizeof(*s));
	s->procfd = -1;
	return 1;
}

int fdscan_bpf_or_proc(struct fdscan *s, const char *proc_root,
		       const pid_t *pids, size_t npids, int strict)
{
	int rc = fdscan_bpf(s, pids, npids);

	if (rc && !strict)
		rc = fdscan_start(s, proc_root, pids, npids);
	return rc;
}
