/*
 * One audit of the host: the sockets of the namespaces to read
 * (collect.c), the processes that hold them (fdscan.c on other threads,
 * owners.c), the audit.  Diagnostics go through diag.c; nothing is
 * printed on stdout.
 */
#include "snapshot.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect.h"
#include "diag.h"
#include "fdscan.h"
#include "fdscan_bpf.h"
#include "fdtypes.h"
#include "owners.h"

#define PROC_ROOT "/proc"

/* The sockets of every namespace of s->ns into s->t, and how they were
 * read (source, consistency) into s.  Returns 0 or an exit status after
 * saying why. */
static int collect_stage(struct snapshot *s, const struct options *o,
			 uint32_t states)
{
	struct collect_result res;
	int status = collect_sockets(&s->ns, &s->t, o, states, &res);

	if (status)
		return status;
	s->source = res.source;
	s->inconsistent = res.inconsistent;
	s->taken = res.read_real;
	s->taken_mono = res.read_mono;
	return 0;
}

/*
 * Sockets the dump did not list but a process holds: dead candidates
 * whose state could not be read (pidfd_getfd refused, e.g. without
 * root), which may be sockets opened after the dump, and live sockets
 * (the dump skipped them, or they were opened after it).  Dump the same
 * namespaces again from the same source, once for both, and let
 * owners_recheck settle them: listed there, a socket takes its record
 * there; a dead candidate still missing and still held is dead.
 * Returns 0, non-zero when a namespace went away before the second
 * dump (the candidates then stay dead, the live ones are not listed),
 * or COLLECT_FATAL after saying why (an error of the audit: out of
 * descriptors, memory, ...).
 */
static int recheck(struct snapshot *s, const struct options *o)
{
	struct sock_table again;
	pid_t pid = 0;
	int rc;

	table_init(&again);
	rc = collect_again(&s->ns, o, s->source, &again);
	if (!rc) {
		rc = owners_recheck(&s->t, &again, PROC_ROOT, &pid);
		if (rc == -ENOMEM) {
			diag_warn("out of memory");
			rc = COLLECT_FATAL;
		} else if (rc) {
			diag_warn("reading %s/%d/fd: %s", PROC_ROOT, (int)pid, strerror(-rc));
			rc = COLLECT_FATAL;
		}
	} else if (rc < 0 && rc != -ENOENT) {
		/* Only a namespace gone since the first dump is not an
		 * error of the audit. */
		diag_warn("second socket dump, for sockets missing from the first: %s",
			  strerror(-rc));
		rc = COLLECT_FATAL;
	}
	if (rc)
		owners_forget_missing(&s->t);
	table_free(&again);
	return rc;
}

/* Sockets that should have an owner but show none. */
static unsigned ownerless(const struct sock_table *t, const struct audit *a)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < a->nselected; i++) {
		const struct sock_rec *s = &t->socks[a->selected[i]];

		/* TIME-WAIT and request sockets have no inode: no owner. */
		if (s->owners == NO_INDEX && s->inode)
			n++;
	}
	return n;
}

/* The start time of each --pid at the first audit of this run: a later
 * audit (the next sample of --watch, the next scrape) must be of the
 * same process, not of another that got its PID since. */
static pthread_mutex_t first_lock = PTHREAD_MUTEX_INITIALIZER;
static struct owners_hold *first_seen;
static size_t nfirst;

/* Whether hold h is of the process its PID named at the first audit
 * (remembered then).  Returns 1, 0, or -ENOMEM. */
static int same_as_first(const struct owners_hold *h, size_t npids)
{
	int rc = 1;
	size_t i;

	pthread_mutex_lock(&first_lock);
	for (i = 0; i < nfirst && first_seen[i].pid != h->pid; i++)
		;
	if (i < nfirst) {
		rc = first_seen[i].start == h->start;
	} else {
		if (!first_seen)
			first_seen = calloc(npids, sizeof(*first_seen));
		if (!first_seen || nfirst == npids)
			rc = first_seen ? 1 : -ENOMEM;
		else
			first_seen[nfirst++] = *h;
	}
	pthread_mutex_unlock(&first_lock);
	return rc;
}

static void release_holds(struct owners_hold *holds, size_t n)
{
	size_t i;

	for (i = 0; holds && i < n; i++)
		owners_release(&holds[i]);
	free(holds);
}

/* Check and hold one --pid: a process (not a thread), neither exited
 * nor exiting, the same as at the first audit.  Returns 0 or an exit
 * status after saying why. */
static int check_pid(pid_t pid, size_t npids, struct owners_hold *h)
{
	pid_t tgid = 0;
	int rc = owners_pid_check(PROC_ROOT, pid, &tgid);

	if (!rc && tgid != pid) {
		diag_warn("PID %d is a thread of process %d: give the process", (int)pid,
			  (int)tgid);
		return EXIT_CANNOT_RUN;
	}
	if (!rc)
		rc = owners_hold(PROC_ROOT, pid, h);
	if (!rc) {
		rc = owners_held(PROC_ROOT, h);
		if (rc == -ESRCH)
			rc = -ECHILD; /* exiting: said below */
	}
	if (!rc) {
		rc = same_as_first(h, npids);
		if (rc == 0) {
			diag_warn("PID %d: exited; the PID now names another process",
				  (int)pid);
			return EXIT_CANNOT_RUN;
		}
		rc = rc < 0 ? rc : 0;
	}
	if (rc) {
		diag_warn("PID %d: %s%s", (int)pid,
			  rc == -ENOENT ? "no such process" :
			  rc == -ESRCH ? "exited (a zombie its parent has not reaped)" :
			  rc == -ECHILD ? "exiting (its descriptors are being closed)" :
			  "checking the process: ",
			  rc == -ENOENT || rc == -ESRCH || rc == -ECHILD ? "" : strerror(-rc));
		return EXIT_CANNOT_RUN;
	}
	return 0;
}

/*
 * Every --pid, checked and held from now on (*holds, npids of them,
 * released with release_holds): a process that exits during the audit,
 * or whose PID comes to name another, is told by its hold.  Returns 0
 * or an exit status after saying why.
 */
static int check_pids(const struct options *o, struct owners_hold **holds)
{
	size_t i;
	int status = 0;

	*holds = calloc(o->npids ? o->npids : 1, sizeof(**holds));
	if (!*holds) {
		diag_warn("out of memory");
		return EXIT_CANNOT_RUN;
	}
	for (i = 0; i < o->npids; i++)
		(*holds)[i].pidfd = -1;
	for (i = 0; i < o->npids && !status; i++)
		status = check_pid(o->pids[i], o->npids, &(*holds)[i]);
	return status;
}

/*
 * After the scan: every --pid must still be the process held, not
 * exited nor exiting, and its descriptors must have been read whole,
 * or the report would be of a part of them.  Returns 0 or an exit
 * status after saying why.
 */
static int still_there(const struct options *o, const struct owners_hold *holds,
		       const struct owners_stats *ost)
{
	size_t i;

	if (ost->gone) {
		diag_warn("PID %d: exited during the audit", (int)ost->gone_pid);
		return EXIT_CANNOT_RUN;
	}
	for (i = 0; i < o->npids; i++) {
		int rc = owners_held(PROC_ROOT, &holds[i]);

		if (rc == -ESRCH) {
			diag_warn("PID %d: exited during the audit", (int)holds[i].pid);
			return EXIT_CANNOT_RUN;
		}
		if (rc) {
			diag_warn("PID %d: reading %s/%d/stat: %s", (int)holds[i].pid,
				  PROC_ROOT, (int)holds[i].pid, strerror(-rc));
			return EXIT_CANNOT_RUN;
		}
	}
	return 0;
}

/*
 * The namespaces dumped whole, for dead sockets (a malloc'd list of
 * inodes in *out; NULL and 0 when none).  Returns 0 or -ENOMEM.
 */
static int whole_namespaces(const struct netns_set *ns, uint32_t **out,
			    size_t *n)
{
	size_t i;

	*n = 0;
	*out = malloc((ns->n ? ns->n : 1) * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (i = 0; i < ns->n; i++)
		if (ns->v[i].audited)
			(*out)[(*n)++] = ns->v[i].ino;
	return 0;
}

/*
 * The cgroup, unit, container and pod of every process holding a
 * selected socket (proc_rec.wl).  Returns 0 or -ENOMEM.
 */
static int resolve_workloads(struct snapshot *s)
{
	struct workload_dirs d;
	struct workload_opts wo = { .proc_root = PROC_ROOT, .dirs = &d };
	int rc;

	workload_dirs_from_env(&d);
	rc = workload_resolve(&s->wl, &s->t, s->a.procs, s->a.nprocs, &wo);
	if (!rc && s->wl.state_errors)
		diag_warn_once(DIAG_WORKLOAD_STATE,
			       "%u container runtime state file%s not readable (%s): "
			       "their container and pod fields are null",
			       s->wl.state_errors, s->wl.state_errors == 1 ? "" : "s",
			       strerror(s->wl.state_errno));
	return rc;
}

/* The --unit, --container and --pod names of the options. */
static void query_of(const struct options *o, struct workload_query *q)
{
	q->args[WL_UNIT] = o->units.v;
	q->nargs[WL_UNIT] = o->units.n;
	q->args[WL_CONTAINER] = o->containers.v;
	q->nargs[WL_CONTAINER] = o->containers.n;
	q->args[WL_POD] = o->pods.v;
	q->nargs[WL_POD] = o->pods.n;
}

/* Keep the PIDs of found[0..*n) that --pid lists too (both ascending). */
static void keep_listed(pid_t *found, size_t *n, const struct options *o)
{
	size_t i, j, k = 0;

	for (i = 0; i < *n; i++)
		for (j = 0; j < o->npids; j++)
			if (o->pids[j] == found[i]) {
				found[k++] = found[i];
				break;
			}
	*n = k;
}

/*
 * --unit, --container, --pod: the options to read the sockets with
 * (*eff, malloc'd; the PIDs in (*eff)->pids are malloc'd too): the
 * processes of the named workloads now, which are audited like --pid
 * (each in its own namespace), those of --pid only when given.  This
 * only says where to look: which sockets are selected is judged per
 * holder after the scan (holder_in_query), so a PID reused since counts
 * for nothing.  No process found: sockaudit's own namespace is read
 * (with --pid, those processes), and nothing matches unless a process
 * joined the workload since.  Returns 0 or an exit status after saying
 * why.
 */
static int workload_options(const struct options *o,
			    const struct workload_query *q, struct options **eff)
{
	struct workload_dirs d;
	struct workload_opts wo = { .proc_root = PROC_ROOT, .dirs = &d };
	const char *amb;
	pid_t *pids;
	size_t n;
	int rc;

	workload_dirs_from_env(&d);
	rc = workload_select(&wo, q, &pids, &n, &amb);
	if (rc == -EEXIST) {
		diag_warn("--container '%s': ambiguous, the prefix of more than one "
			  "container's id; give more digits or the name", amb);
		return EXIT_USAGE;
	}
	if (rc) {
		diag_warn("listing the processes of %s: %s", PROC_ROOT, strerror(-rc));
		return EXIT_CANNOT_RUN;
	}
	if (o->npids)
		keep_listed(pids, &n, o);
	*eff = malloc(sizeof(**eff));
	if (!*eff) {
		free(pids);
		diag_warn("out of memory");
		return EXIT_CANNOT_RUN;
	}
	**eff = *o;
	if (n) {
		(*eff)->pids = pids;
		(*eff)->npids = n;
		(*eff)->pids_found = true;
	} else {
		free(pids);
		(*eff)->pids = NULL;
		if (o->npids) {
			(*eff)->pids = malloc(o->npids * sizeof(pid_t));
			if (!(*eff)->pids) {
				free(*eff);
				*eff = NULL;
				diag_warn("out of memory");
				return EXIT_CANNOT_RUN;
			}
			memcpy((*eff)->pids, o->pids, o->npids * sizeof(pid_t));
		}
	}
	return 0;
}

static void eff_free(struct options *eff)
{
	if (eff) {
		free(eff->pids);
		free(eff);
	}
}

/* audit_opts.holder_ok for --unit, --container, --pod: whether the
 * process is of the workloads asked for (resolved before the audit). */
static bool holder_in_query(const struct sock_table *t, uint32_t proc,
			    const void *arg)
{
	const struct workload *w = t->procs[proc].wl;

	return w && workload_query_matches(w, arg);
}

/* The workload of every process that holds a socket of the table, for
 * selections by workload.  Returns 0 or -ENOMEM. */
static int resolve_all(struct snapshot *s)
{
	struct workload_dirs d;
	struct workload_opts wo = { .proc_root = PROC_ROOT, .dirs = &d };
	uint32_t *all = malloc((s->t.nprocs ? s->t.nprocs : 1) * sizeof(*all));
	size_t i;
	int rc;

	if (!all)
		return -ENOMEM;
	for (i = 0; i < s->t.nprocs; i++)
		all[i] = (uint32_t)i;
	workload_dirs_from_env(&d);
	rc = workload_resolve(&s->wl, &s->t, all, s->t.nprocs, &wo);
	free(all);
	return rc;
}

static double elapsed(const struct timespec *from)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - from->tv_sec) +
	       (double)(now.tv_nsec - from->tv_nsec) / 1e9;
}

/* Say why owners_join failed. */
static void join_failed(const struct owners_stats *ost, int rc)
{
	if (ost->fail_what)
		diag_warn("reading %s/%d/%s: %s", PROC_ROOT, (int)ost->fail_pid,
			  ost->fail_what, strerror(-rc));
	else
		diag_warn("joining sockets to processes: %s", strerror(-rc));
}

int snapshot_take(struct snapshot *s, const struct options *o)
{
	struct owners_opts oo = {
		.proc_root = PROC_ROOT,
		.families = o->families,
	};
	struct fdscan scan;
	struct owners_stats ost;
	struct audit_opts ao = {
		.idle_ms = o->idle_ms,
		.states = o->states,
		.flags = o->flags,
		.families = o->families,
		.ports = o->has_ports ? o->ports : NULL,
		.rports = o->has_rports ? o->rports : NULL,
		.by_pid = o->npids > 0,
		.fd_pressure = o->fd_pressure,
		.group_by = o->group_by,
	};
	struct owners_hold *holds = NULL;
	const struct options *eo = o; /* with the PIDs of workloads */
	struct options *eff = NULL;
	struct workload_query q;
	struct pid_netns pn;
	uint32_t states = o->states | STATE_BIT(ST_LISTEN);
	uint32_t *whole = NULL;
	struct timespec start;
	int rc, status, bpf_fds;

	memset(s, 0, sizeof(*s));
	clock_gettime(CLOCK_REALTIME, &s->taken);
	clock_gettime(CLOCK_MONOTONIC, &start);
	s->taken_mono = start;
	rc = collect_ephemeral_low(&ao.ephemeral_low);
	if (rc) {
		diag_warn("reading the ephemeral port range: %s", strerror(-rc));
		return EXIT_CANNOT_RUN;
	}
	query_of(o, &q);
	status = check_pids(o, &holds);
	if (!status && workload_query_given(&q)) {
		status = workload_options(o, &q, &eff);
		if (!status) {
			eo = eff;
			ao.by_pid = true;
			ao.holder_ok = holder_in_query;
			ao.holder_arg = &q;
		}
	}
	if (!status)
		status = collect_namespaces(&s->ns, eo, &pn);
	if (status) {
		release_holds(holds, o->npids);
		eff_free(eff);
		netns_free(&s->ns);
		return status;
	}
	/* Dead sockets (state close) are told apart from the ones the
	 * kernel filtered out only by a dump of every state. */
	if (o->states & STATE_BIT(ST_CLOSE))
		states = STATES_ALL;

	/* The descriptors are read on other threads while the sockets are
	 * dumped: on a big host these are most of the time, and they do not
	 * depend on each other until the join.  One scan serves every
	 * namespace: socket inodes are unique on the host. */
	/* With BPF, descriptors are read after the dump, in a few reads. */
	bpf_fds = fdscan_bpf_plan(&scan, o->source == SOURCE_BPF ||
				  o->source == SOURCE_AUTO);
	rc = bpf_fds ? 0 : fdscan_start(&scan, PROC_ROOT, eo->pids, eo->npids);
	if (rc) {
		diag_warn("reading process descriptors in %s: %s", PROC_ROOT,
			  strerror(-rc));
		release_holds(holds, o->npids);
		eff_free(eff);
		netns_free(&s->ns);
		return EXIT_CANNOT_RUN;
	}
	table_init(&s->t);
	status = collect_stage(s, eo, states);
	if (status)
		goto fail;
	rc = bpf_fds ? fdscan_bpf_or_proc(&scan, PROC_ROOT, eo->pids, eo->npids,
					  o->source == SOURCE_BPF) : 0;
	if (rc) {
		diag_warn("reading process descriptors%s: %s",
			  o->source == SOURCE_BPF ? " with BPF iterators" : "",
			  strerror(-rc));
		status = EXIT_CANNOT_RUN;
		goto fail;
	}
	rc = fdscan_wait(&scan);
	if (!rc)
		rc = table_index(&s->t);
	/* Dead sockets are TCP's: without TCP in the table every TCP
	 * descriptor would look dead. */
	if (!rc && states == STATES_ALL && (o->protocols & PROTO_BIT(PROTO_TCP))) {
		rc = whole_namespaces(&s->ns, &whole, &oo.nnetns);
		oo.netns = whole;
		oo.self_netns = s->ns.self;
	}
	memset(&ost, 0, sizeof(ost));
	if (!rc)
		rc = owners_join(&s->t, &oo, &scan, &ost);
	if (rc) {
		join_failed(&ost, rc);
		status = EXIT_CANNOT_RUN;
		goto fail;
	}
	/* From the BPF iterators every socket's kind is known: the kinds of
	 * every holder cost no /proc read, and counted now the scan is
	 * freed before the audit builds its groups (fdtypes_fill below then
	 * has nothing left to do). */
	if (scan.from_bpf) {
		rc = fdtypes_fill_all(&s->t, &scan, PROC_ROOT);
		fdscan_free(&scan);
		if (rc) {
			diag_warn("reading descriptor kinds in %s: %s", PROC_ROOT,
				  strerror(-rc));
			status = EXIT_CANNOT_RUN;
			goto fail;
		}
	}
	/* A PID the user named must be read, or --max would pass on an
	 * empty report. */
	if (o->npids && (ost.denied || ost.links_denied)) {
		diag_warn("PID %d: descriptors not readable (%s); run as root",
			  ost.denied ? (int)ost.denied_pid : (int)ost.links_denied_pid,
			  strerror(ost.denied ? ost.denied_errno : EACCES));
		status = EXIT_CANNOT_RUN;
		goto fail;
	}
	if (pn.unknown)
		diag_warn_once(DIAG_NETNS_PID,
			       "PID %d: network namespace not readable (%s); only "
			       "sockaudit's own namespace is audited for it",
			       (int)pn.pid, strerror(pn.err));
	/* Only then a second dump: on a quiet host there is none. */
	if (ost.unchecked || ost.missing) {
		rc = recheck(s, eo);
		if (rc == COLLECT_FATAL) {
			status = EXIT_CANNOT_RUN;
			goto fail;
		}
		if (rc)
			diag_warn_once(DIAG_RECHECK,
				       "second socket dump failed; some dead sockets may be "
				       "live ones opened during the scan, and live ones "
				       "missing from the first dump are not listed");
	}
	/* Last, once everything of the processes has been read. */
	status = o->npids ? still_there(o, holds, &ost) : 0;
	if (status)
		goto fail;
	/* Selections and groups by workload need every holder's. */
	rc = ao.holder_ok || o->group_by >= GROUP_BY_UNIT ? resolve_all(s) : 0;
	if (!rc)
		rc = audit_run(&s->t, &ao, &s->a);
	if (!rc) {
		rc = resolve_workloads(s);
		if (rc) {
			workload_free(&s->wl);
			audit_free(&s->a);
		}
	}
	if (rc) {
		diag_warn("audit: %s", strerror(-rc));
		status = EXIT_CANNOT_RUN;
		goto fail;
	}
	/* Descriptors by kind, of the processes the report names only. */
	rc = fdtypes_fill(&s->t, &scan, PROC_ROOT, s->a.procs, s->a.nprocs);
	if (rc) {
		diag_warn("reading descriptor kinds in %s: %s", PROC_ROOT,
			  strerror(-rc));
		audit_free(&s->a);
		status = EXIT_CANNOT_RUN;
		goto fail;
	}
	s->denied = ost.denied;
	if (ost.denied) {
		s->hidden = ownerless(&s->t, &s->a);
		diag_warn_once(DIAG_DENIED,
			       "descriptors of %u process%s not readable (%s): owners of "
			       "%u socket%s not visible; run as root",
			       ost.denied, ost.denied == 1 ? "" : "es",
			       strerror(ost.denied_errno), s->hidden,
			       s->hidden == 1 ? "" : "s");
	}
	free(whole);
	release_holds(holds, o->npids);
	eff_free(eff);
	fdscan_free(&scan);
	s->seconds = elapsed(&start);
	return 0;
fail:
	free(whole);
	release_holds(holds, o->npids);
	eff_free(eff);
	workload_free(&s->wl);
	fdscan_free(&scan);
	table_free(&s->t);
	netns_free(&s->ns);
	return status;
}

void snapshot_free(struct snapshot *s)
{
	workload_free(&s->wl);
	audit_free(&s->a);
	table_free(&s->t);
	netns_free(&s->ns);
}
