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
	};
	struct owners_hold *holds = NULL;
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
	status = check_pids(o, &holds);
	if (!status)
		status = collect_namespaces(&s->ns, o, &pn);
	if (status) {
		release_holds(holds, o->npids);
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
	rc = bpf_fds ? 0 : fdscan_start(&scan, PROC_ROOT, o->pids, o->npids);
	if (rc) {
		diag_warn("reading process descriptors in %s: %s", PROC_ROOT,
			  strerror(-rc));
		release_holds(holds, o->npids);
		netns_free(&s->ns);
		return EXIT_CANNOT_RUN;
	}
	table_init(&s->t);
	status = collect_stage(s, o, states);
	if (status)
		goto fail;
	rc = bpf_fds ? fdscan_bpf_or_proc(&scan, PROC_ROOT, o->pids, o->npids,
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
	if (!rc && states == STATES_ALL) {
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
		rc = recheck(s, o);
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
	fdscan_free(&scan);
	s->seconds = elapsed(&start);
	return 0;
fail:
	free(whole);
	release_holds(holds, o->npids);
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
