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
	p->cgroup_id = task->cgroup_id;
}

/*
 * The process entries being built from the descriptor records, a chunk
 * of records at a time.  The socket descriptors of every process go to
 * one pool, in order (the iterator lists a process's descriptors
 * together): a process's `socks` is its run of the pool, set when the
 * pool stops moving (procs_finish).  Until then its `cap` holds where
 * that run starts.
 */
struct procs_build {
	const struct sa_proc_rec *tasks; /* sorted by tgid */
	size_t ntasks;
	const pid_t *pids; /* sorted; npids 0: every process */
	size_t npids;
	struct proc_fds *v;
	size_t n, cap;
	struct fd_sock *pool;
	size_t npool, pool_cap;
	uint32_t last; /* the tgid of the last record, and whether wanted */
	int want;
};

/* Add one descriptor record to the last process.  Returns 0 or
 * -ENOMEM. */
static int proc_add(struct procs_build *b, const struct sa_fd_rec *f)
{
	static const enum fd_type file_type[] = {
		[SA_FILE_FILE] = FDT_FILE, [SA_FILE_PIPE] = FDT_PIPE,
		[SA_FILE_ANON_INODE] = FDT_ANON_INODE, [SA_FILE_OTHER] = FDT_OTHER,
	};
	struct proc_fds *p = &b->v[b->n - 1];
	struct fd_sock *fs;

	p->fds++;
	if (f->kind == SA_FD_OTHER) {
		p->fd_types[f->state <= SA_FILE_OTHER ? file_type[f->state] : FDT_OTHER]++;
		return 0;
	}
	/* Every socket, as the /proc scan lists them: UDP and UNIX sockets
	 * are joined to their holders too, and fdtypes.c sorts them. */
	p->socket_fds++;
	if (VEC_GROW(b->pool, b->pool_cap, b->npool))
		return -ENOMEM;
	fs = &b->pool[b->npool++];
	fs->fd = f->fd;
	fs->inode = f->inode;
	/* What a dead socket is told by (owners.c), and a descriptor's
	 * kind (fdtypes.c), with no /proc read. */
	fs->kind = f->kind == SA_FD_TCP ? FDS_TCP :
		   f->state == SA_SOCK_UDP ? FDS_UDP :
		   f->state == SA_SOCK_UNIX ? FDS_UNIX : FDS_OTHER;
	fs->family = f->family;
	fs->state = f->state;
	p->nsocks++;
	return 0;
}

/*
 * Start the entry of process tgid.  The last one is reused when it
 * holds no socket: owners.c joins socket descriptors only, and the
 * report names only processes that hold sockets.  Returns 0 or -ENOMEM.
 */
static int proc_next(struct procs_build *b, uint32_t tgid)
{
	if (!b->n || b->v[b->n - 1].nsocks) {
		if (VEC_GROW(b->v, b->cap, b->n))
			return -ENOMEM;
		b->n++;
	}
	proc_begin(&b->v[b->n - 1], tgid, find_task(b->tasks, b->ntasks, tgid));
	b->v[b->n - 1].cap = b->npool;
	return 0;
}

/* Add a buffer of whole descriptor records (len a multiple of their
 * size).  Returns 0 or -ENOMEM. */
static int procs_feed(const void *buf, size_t len, void *arg)
{
	struct procs_build *b = arg;
	const unsigned char *files = buf;
	size_t i;

	for (i = 0; i < len / sizeof(struct sa_fd_rec); i++) {
		struct sa_fd_rec f;

		/* Copied out: the buffer need not be aligned. */
		memcpy(&f, files + i * sizeof(f), sizeof(f));
		if (!f.tgid)
			continue;
		/* Asked once a run of records: --pid of thousands of
		 * processes is not a scan of them per descriptor. */
		if (f.tgid != b->last) {
			b->last = f.tgid;
			b->want = wanted((pid_t)f.tgid, b->pids, b->npids);
			if (b->want && proc_next(b, f.tgid))
				return -ENOMEM;
		}
		if (b->want && proc_add(b, &f))
			return -ENOMEM;
	}
	return 0;
}

/* The entries built into s, each pointing to its run of the pool, in
 * ascending PID as the /proc scan gives them. */
static void procs_finish(struct procs_build *b, struct fdscan *s)
{
	size_t i;

	if (b->n && !b->v[b->n - 1].nsocks)
		b->n--;
	for (i = 0; i < b->n; i++) {
		b->v[i].socks = b->pool + b->v[i].cap;
		b->v[i].cap = 0; /* not its own: fdscan_free frees the pool */
	}
	if (b->n > 1)
		qsort(b->v, b->n, sizeof(*b->v), cmp_proc);
	s->procs = b->v;
	s->nprocs = b->n;
	s->socks_pool = b->pool;
	s->from_bpf = 1;
	b->v = NULL;
	b->pool = NULL;
}

static void procs_build_free(struct procs_build *b)
{
	free(b->v);
	free(b->pool);
}

/*
 * Fill s from the descriptor records feed(b, arg) hands to procs_feed,
 * with tasks (sorted by tgid) and pids (npids, in any order).  Returns
 * 0, feed's error, or -ENOMEM; on error s is left empty.
 */
static int build_procs(struct fdscan *s, const struct sa_proc_rec *tasks,
		       size_t ntasks, const pid_t *pids, size_t npids,
		       int (*feed)(struct procs_build *b, const void *arg),
		       const void *arg)
{
	struct procs_build b = { .tasks = tasks, .ntasks = ntasks, .npids = npids };
	pid_t *sorted = NULL;
	int rc;

	if (npids) {
		sorted = malloc(npids * sizeof(*sorted));
		if (!sorted)
			return -ENOMEM;
		memcpy(sorted, pids, npids * sizeof(*sorted));
		qsort(sorted, npids, sizeof(*sorted), cmp_pid);
		b.pids = sorted;
	}
	rc = feed(&b, arg);
	if (!rc)
		procs_finish(&b, s);
	procs_build_free(&b);
	free(sorted);
	return rc;
}

/* The descriptor records of a buffer, for build_procs. */
struct files_buf {
	const void *buf;
	size_t len;
};

static int feed_buf(struct procs_build *b, const void *arg)
{
	const struct files_buf *fb = arg;

	return procs_feed(fb->buf, fb->len, b);
}

int fdscan_bpf_decode(struct fdscan *s, const void *files, size_t flen,
		      const void *tasks, size_t tlen, const pid_t *pids,
		      size_t npids)
{
	struct files_buf fb = { files, flen };
	struct sa_proc_rec *tv = NULL;
	size_t nt = tlen / sizeof(*tv);
	int rc;

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
	rc = build_procs(s, tv, nt, pids, npids, feed_buf, &fb);
	free(tv);
	return rc;
}

/* The task records read so far (iter/task), for bpf_read_iter_each. */
struct task_vec {
	struct sa_proc_rec *v;
	size_t n, cap;
};

static int task_chunk(const void *buf, size_t len, void *arg)
{
	struct task_vec *tv = arg;
	size_t k = len / sizeof(*tv->v);

	if (vec_reserve(&tv->v, &tv->cap, tv->n + k, sizeof(*tv->v)))
		return -ENOMEM;
	memcpy(tv->v + tv->n, buf, len);
	tv->n += k;
	return 0;
}

/* The descriptor records straight from iter/task_file, a chunk at a
 * time: no buffer of them all. */
static int feed_iter(struct procs_build *b, const void *arg)
{
	(void)arg;
	return bpf_read_iter_each(BPF_ITER_TASK_FILE, sizeof(struct sa_fd_rec),
				  procs_feed, b);
}

int fdscan_bpf(struct fdscan *s, const pid_t *pids, size_t npids)
{
	struct task_vec tv = { NULL, 0, 0 };
	int rc;

	memset(s, 0, sizeof(*s));
	s->procfd = -1;
	/* The tasks first, whole: each process's entry takes its comm and
	 * limit as its first descriptor record comes. */
	rc = bpf_read_iter_each(BPF_ITER_TASK, sizeof(*tv.v), task_chunk, &tv);
	if (!rc) {
		if (tv.n > 1)
			qsort(tv.v, tv.n, sizeof(*tv.v), cmp_task);
		rc = build_procs(s, tv.v, tv.n, pids, npids, feed_iter, NULL);
	}
	free(tv.v);
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
