/*
 * One audit of the host: the sockets from a source, the processes that
 * hold them, the audit.  Diagnostics go through diag.c; nothing is
 * printed on stdout.
 */
#include "snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "fdscan.h"
#include "owners.h"
#include "source_netlink.h"
#include "source_procnet.h"

#define PROC_ROOT "/proc"

/* The first port of the ephemeral range; 32768 when it cannot be read. */
static uint16_t ephemeral_low(void)
{
	FILE *f = fopen(PROC_ROOT "/sys/net/ipv4/ip_local_port_range", "re");
	unsigned long lo = 0;

	if (f) {
		char line[64];

		if (fgets(line, sizeof(line), f))
			lo = strtoul(line, NULL, 10);
		fclose(f);
	}
	return lo > 0 && lo <= 65535 ? (uint16_t)lo : 32768;
}

/*
 * Dump with sock_diag: the selected families and states, plus the other
 * family's listeners (grouping looks for a listener in either family).
 * The kernel also filters local ports, unless every socket is needed to
 * tell dead descriptors from filtered ones.  Returns 0 or -errno.
 */
static int read_netlink(struct sock_table *t, const struct options *o,
			uint32_t states, int *inconsistent)
{
	int whole = (states & STATE_BIT(ST_CLOSE)) != 0;
	struct dump_request req = {
		.families = o->families,
		.states = states,
		.want_info = 1,
		.ports = o->has_ports && !whole ? o->ports : NULL,
	};
	struct netlink_stats st;
	int rc = netlink_dump(t, &req, &st);

	*inconsistent = st.inconsistent;
	if (rc || o->families == FAMILY_BOTH)
		return rc;
	req.families = FAMILY_BOTH & ~o->families;
	req.states = STATE_BIT(ST_LISTEN);
	req.want_info = 0;
	rc = netlink_dump(t, &req, &st);
	*inconsistent |= st.inconsistent;
	return rc;
}

/* How the namespaces of one audit were read, across them. */
struct read_state {
	bool proc_only;	   /* netlink failed (auto): /proc for the rest */
	bool used_proc;	   /* some namespace was read from /proc */
	bool inconsistent; /* some dump kept changing */
	bool quiet;	   /* a second dump: its failures are not reported */
};

/* read_all: we could not come back to our own namespace. */
#define READ_FATAL 100

/* " in network namespace NAME (INODE)" for messages about namespace
 * `nt`, or "" for our own. */
static const char *in_netns(const struct netns_target *nt, char *buf,
			    size_t len)
{
	if (!nt || !nt->tag)
		return "";
	if (nt->name)
		snprintf(buf, len, " in network namespace %s (%u)", nt->name,
			 (unsigned)nt->ino);
	else
		snprintf(buf, len, " in network namespace %u", (unsigned)nt->ino);
	return buf;
}

/*
 * Add the sockets of the namespace the thread is in to the table, from
 * the source the options ask for; PROC_DIR is where that namespace's
 * net/tcp is (thread-self inside another namespace).  Returns 0, or an
 * exit status after saying why.
 */
static int read_sockets(const struct options *o, uint32_t states,
			struct sock_table *t, const char *proc_dir,
			const struct netns_target *nt, struct read_state *rs)
{
	size_t mark = t->nsocks;
	struct procnet_stats pst;
	char where[512];
	int inconsistent = 0, rc;

	if (o->source != SOURCE_PROC && !rs->proc_only) {
		rc = read_netlink(t, o, states, &inconsistent);
		if (rc == 0) {
			if (inconsistent)
				diag_warn_once(DIAG_INCONSISTENT,
					       "the kernel's socket dump kept changing while "
					       "it was read; the report may be inconsistent");
			rs->inconsistent |= inconsistent != 0;
			return 0;
		}
		if (o->source == SOURCE_NETLINK || rs->quiet) {
			if (!rs->quiet)
				diag_warn("sock_diag netlink dump%s: %s",
					  in_netns(nt, where, sizeof(where)), strerror(-rc));
			return EXIT_CANNOT_RUN;
		}
		diag_warn_once(DIAG_FALLBACK,
			       "sock_diag netlink dump%s: %s; reading /proc/net/tcp instead "
			       "(no tcp_info: idle and stalled are not set)",
			       in_netns(nt, where, sizeof(where)), strerror(-rc));
		/* Drop what a failed dump left; the /proc read starts over. */
		t->nsocks = mark;
		rs->proc_only = true;
	} else if (o->source == SOURCE_PROC) {
		diag_warn_once(DIAG_NO_TCPINFO,
			       "the /proc source has no tcp_info: idle and stalled are "
			       "not set and times are null");
	}
	/* Both families: listeners of either family decide grouping; the
	 * audit selects the family. */
	rc = procnet_read(proc_dir, t, FAMILY_BOTH, states, &pst);
	if (rc && rs->quiet)
		return EXIT_CANNOT_RUN;
	if (rc) {
		diag_warn("reading %s/net/tcp%s: %s", proc_dir,
			  in_netns(nt, where, sizeof(where)), strerror(-rc));
		return EXIT_CANNOT_RUN;
	}
	if (pst.malformed && !rs->quiet)
		diag_warn_once(DIAG_MALFORMED, "%u malformed lines in %s/net/tcp skipped",
			       pst.malformed, proc_dir);
	rs->used_proc = true;
	return 0;
}

/* "NAME (INODE)" or "INODE" of a namespace, for messages. */
static const char *netns_label(const struct netns_target *nt, char *buf,
			       size_t len)
{
	if (nt->name)
		snprintf(buf, len, "%s (%u)", nt->name, (unsigned)nt->ino);
	else
		snprintf(buf, len, "%u", (unsigned)nt->ino);
	return buf;
}

/* Why a namespace could not be entered, and the hint for privilege. */
static const char *enter_error(int err)
{
	if (err != -EPERM && err != -EACCES)
		return "";
	/* Root refused too: a capability (CAP_SYS_ADMIN, CAP_SYS_PTRACE)
	 * is missing, or a security module said no. */
	return geteuid() == 0 ? "; needs CAP_SYS_ADMIN (and CAP_SYS_PTRACE for "
				"another user's process)" : "; run as root";
}

/*
 * Namespaces that --all-netns could not read, in one line: how many,
 * why (the first error), and which (the first few).
 */
static void warn_skipped(const struct netns_set *ns)
{
	char list[640] = "";
	size_t i, len = 0, shown = 0, skipped = 0;
	int err = 0;

	for (i = 0; i < ns->n; i++) {
		char label[320];

		if (ns->v[i].audited || ns->v[i].err == -ENOENT)
			continue;
		skipped++;
		if (!err)
			err = ns->v[i].err;
		if (shown == 4 || len >= sizeof(list) - 1)
			continue;
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
					shown ? ", " : "",
					netns_label(&ns->v[i], label, sizeof(label)));
		shown++;
	}
	if (!skipped)
		return;
	if (skipped > shown && len < sizeof(list) - 1)
		snprintf(list + len, sizeof(list) - len, ", +%zu more", skipped - shown);
	diag_warn_once(DIAG_NETNS,
		       "%zu of %zu network namespaces not audited (cannot enter: %s%s): %s",
		       skipped, ns->n, strerror(-err), enter_error(err), list);
}

/*
 * Dump every namespace of the set into t, each entered in turn on this
 * thread and left before the next.  With `again` set (a second dump to
 * confirm dead sockets), only the namespaces read the first time.
 * Returns 0 or an exit status after saying why (a --pid or --netns
 * namespace that cannot be entered, a source that fails), or READ_FATAL
 * when the thread could not come back to our own namespace.
 */
static int read_all(struct snapshot *s, const struct options *o, uint32_t states,
		    struct sock_table *t, struct read_state *rs, bool again)
{
	struct netns_set *ns = &s->ns;
	size_t i;

	for (i = 0; i < ns->n; i++) {
		struct netns_target *nt = &ns->v[i];
		char label[320];
		int rc, status;

		if (again && !nt->audited)
			continue;
		rc = netns_enter(ns, i);
		if (rc) {
			if (again)
				return EXIT_CANNOT_RUN;
			if (nt->via == NETNS_VIA_PID) {
				diag_warn("PID %d: cannot enter its network namespace %s: %s%s",
					  (int)nt->pid, netns_label(nt, label, sizeof(label)),
					  strerror(-rc), enter_error(rc));
				return EXIT_CANNOT_RUN;
			}
			if (nt->via == NETNS_VIA_ARG) {
				diag_warn("--netns '%s': cannot enter network namespace %s: %s%s",
					  nt->arg, netns_label(nt, label, sizeof(label)),
					  strerror(-rc), enter_error(rc));
				return EXIT_CANNOT_RUN;
			}
			continue; /* --all-netns: said once at the end */
		}
		t->cur_netns = nt->tag;
		status = read_sockets(o, states, t,
				      nt->tag ? PROC_ROOT "/thread-self" : PROC_ROOT,
				      nt, rs);
		/* The port range is the namespace's own too. */
		if (!status && nt->tag &&
		    table_set_ephemeral_low(t, nt->tag, ephemeral_low()) < 0) {
			diag_warn("out of memory");
			status = EXIT_CANNOT_RUN;
		}
		t->cur_netns = 0;
		if (nt->tag) {
			rc = netns_return(ns);
			if (rc) {
				/* Nothing may be read or printed from the
				 * wrong namespace. */
				diag_warn("returning to the original network namespace "
					  "from %s: %s", netns_label(nt, label, sizeof(label)),
					  strerror(-rc));
				return READ_FATAL;
			}
		}
		if (status)
			return status;
		nt->audited = true;
	}
	return 0;
}

/*
 * Dead candidates whose state could not be read (pidfd_getfd refused,
 * e.g. without root) may be sockets opened after the dump: dump the same
 * namespaces again from the same source and let owners_recheck keep as
 * dead only those still missing and still held.  Returns 0, an exit
 * status when the second dump failed (the candidates then stay dead),
 * or READ_FATAL (see read_all).
 */
static int recheck_dead(struct snapshot *s, const struct options *o)
{
	struct sock_table again;
	struct read_state rs = { .proc_only = !strcmp(s->source, "proc"),
				 .quiet = true };
	int rc;

	table_init(&again);
	rc = read_all(s, o, STATES_ALL, &again, &rs, true);
	if (!rc)
		rc = table_index(&again) ? EXIT_CANNOT_RUN : 0;
	if (!rc)
		owners_recheck(&s->t, &again, PROC_ROOT);
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

/* Every --pid must name a process (not a thread).  Returns 0 or an exit
 * status after saying why. */
static int check_pids(const struct options *o)
{
	size_t i;

	for (i = 0; i < o->npids; i++) {
		pid_t tgid = 0;
		int rc = owners_pid_check(PROC_ROOT, o->pids[i], &tgid);

		if (rc) {
			diag_warn("PID %d: %s", (int)o->pids[i],
				  rc == -ENOENT ? "no such process" :
				  rc == -ESRCH ? "exited (a zombie its parent has not reaped)" :
				  strerror(-rc));
			return EXIT_CANNOT_RUN;
		}
		if (tgid != o->pids[i]) {
			diag_warn("PID %d is a thread of process %d: give the process",
				  (int)o->pids[i], (int)tgid);
			return EXIT_CANNOT_RUN;
		}
	}
	return 0;
}

/* How --pid namespaces that may not be read were handled. */
struct pid_netns {
	unsigned unknown; /* PIDs whose ns/net may not be read */
	pid_t pid;	  /* the first of them */
	int err;
};

/*
 * The namespaces to read: ours by default; with --pid, the one each
 * process is in; with --netns, each one named; with --all-netns, every
 * one found (options add up).  Returns 0 or an exit status after
 * saying why.
 */
static int resolve_netns(struct netns_set *ns, const struct options *o,
			 struct pid_netns *pn)
{
	bool named = o->nnetns || o->all_netns;
	char path[4096];
	size_t i;
	int rc;

	memset(pn, 0, sizeof(*pn));
	rc = netns_init(ns, PROC_ROOT, NETNS_RUN_DIR);
	if (rc && named) {
		diag_warn("reading our network namespace in %s: %s", PROC_ROOT,
			  strerror(-rc));
		return EXIT_CANNOT_RUN;
	}
	/* Ours by default, and when our namespace cannot be told from
	 * another (then --pid reads ours, as it did before namespaces). */
	if ((!o->nnetns && !o->npids && !o->all_netns) || (!ns->self && o->npids)) {
		rc = netns_add_self(ns);
		if (rc)
			goto nomem;
	}
	for (i = 0; ns->self && i < o->npids; i++) {
		rc = netns_add_pid(ns, o->pids[i]);
		if (rc == -EACCES || rc == -EPERM) {
			/* Its descriptors may still be readable: it is
			 * audited in our namespace, with a warning. */
			if (!pn->unknown++) {
				pn->pid = o->pids[i];
				pn->err = -rc;
			}
			rc = netns_add_self(ns);
		}
		if (rc == -ENOMEM) {
			goto nomem;
		} else if (rc) {
			diag_warn("PID %d: %s", (int)o->pids[i],
				  rc == -ENOENT ? "no such process" :
				  rc == -ESRCH ? "exited (a zombie its parent has not reaped)" :
				  strerror(-rc));
			return EXIT_CANNOT_RUN;
		}
	}
	for (i = 0; i < o->nnetns; i++) {
		rc = netns_add_arg(ns, o->netns[i]);
		netns_arg_path(ns, o->netns[i], path, sizeof(path));
		if (rc == -ENOMEM)
			goto nomem;
		if (rc == -ENOENT || rc == -ENOTDIR)
			diag_warn("--netns '%s': no such network namespace (%s)",
				  o->netns[i], path);
		else if (rc == -EINVAL)
			diag_warn("--netns '%s': %s is not a network namespace",
				  o->netns[i], path);
		else if (rc)
			diag_warn("--netns '%s': cannot open %s: %s%s", o->netns[i],
				  path, strerror(-rc), enter_error(rc));
		if (rc)
			return EXIT_CANNOT_RUN;
	}
	if (o->all_netns) {
		rc = netns_scan(ns);
		if (rc == -ENOMEM)
			goto nomem;
		if (rc) {
			diag_warn("listing the network namespaces of %s: %s", PROC_ROOT,
				  strerror(-rc));
			return EXIT_CANNOT_RUN;
		}
		if (ns->unreadable)
			diag_warn_once(DIAG_NETNS_UNREADABLE,
				       "network namespaces of %u process%s not readable (%s): "
				       "namespaces only they are in are not audited",
				       ns->unreadable, ns->unreadable == 1 ? "" : "es",
				       strerror(ns->unreadable_err));
	}
	ns->shown = named;
	for (i = 0; i < ns->n; i++)
		ns->shown |= ns->v[i].tag != 0;
	/* Names are for reports that name namespaces (the scan has them). */
	if (ns->shown && !o->all_netns)
		netns_name_all(ns);
	return 0;
nomem:
	diag_warn("out of memory");
	return EXIT_CANNOT_RUN;
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

static double elapsed(const struct timespec *from)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - from->tv_sec) +
	       (double)(now.tv_nsec - from->tv_nsec) / 1e9;
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
		.ephemeral_low = ephemeral_low(),
		.fd_pressure = o->fd_pressure,
	};
	struct read_state rs = { 0 };
	struct pid_netns pn;
	uint32_t states = o->states | STATE_BIT(ST_LISTEN);
	uint32_t *whole = NULL;
	struct timespec start;
	int rc, status;

	memset(s, 0, sizeof(*s));
	clock_gettime(CLOCK_REALTIME, &s->taken);
	clock_gettime(CLOCK_MONOTONIC, &start);
	s->taken_mono = start;
	status = check_pids(o);
	if (!status)
		status = resolve_netns(&s->ns, o, &pn);
	if (status) {
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
	rc = fdscan_start(&scan, PROC_ROOT, o->pids, o->npids);
	if (rc) {
		diag_warn("reading process descriptors in %s: %s", PROC_ROOT,
			  strerror(-rc));
		netns_free(&s->ns);
		return EXIT_CANNOT_RUN;
	}
	table_init(&s->t);
	status = read_all(s, o, states, &s->t, &rs, false);
	if (status)
		goto fail;
	s->source = rs.used_proc ? "proc" : "netlink";
	s->inconsistent = rs.inconsistent;
	if (o->all_netns)
		warn_skipped(&s->ns);
	rc = fdscan_wait(&scan);
	if (!rc)
		rc = table_index(&s->t);
	if (!rc && states == STATES_ALL) {
		rc = whole_namespaces(&s->ns, &whole, &oo.nnetns);
		oo.netns = whole;
		oo.self_netns = s->ns.self;
	}
	if (!rc)
		rc = owners_join(&s->t, &oo, &scan, &ost);
	if (rc) {
		diag_warn("joining sockets to processes: %s", strerror(-rc));
		status = EXIT_CANNOT_RUN;
		goto fail;
	}
	/* A PID the user named must be read, or --max would pass on an
	 * empty report. */
	if (o->npids && ost.denied) {
		diag_warn("PID %d: descriptors not readable (%s); run as root",
			  (int)ost.denied_pid, strerror(ost.denied_errno));
		status = EXIT_CANNOT_RUN;
		goto fail;
	}
	if (pn.unknown)
		diag_warn_once(DIAG_NETNS_PID,
			       "PID %d: network namespace not readable (%s); only "
			       "sockaudit's own namespace is audited for it",
			       (int)pn.pid, strerror(pn.err));
	if (ost.unchecked) {
		rc = recheck_dead(s, o);
		if (rc == READ_FATAL) {
			status = EXIT_CANNOT_RUN;
			goto fail;
		}
		if (rc)
			diag_warn_once(DIAG_RECHECK,
				       "second dump to confirm dead sockets failed; some "
				       "may be live sockets opened during the scan");
	}
	rc = audit_run(&s->t, &ao, &s->a);
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
	fdscan_free(&scan);
	s->seconds = elapsed(&start);
	return 0;
fail:
	if (status == READ_FATAL)
		status = EXIT_CANNOT_RUN;
	free(whole);
	fdscan_free(&scan);
	table_free(&s->t);
	netns_free(&s->ns);
	return status;
}

void snapshot_free(struct snapshot *s)
{
	audit_free(&s->a);
	table_free(&s->t);
	netns_free(&s->ns);
}
