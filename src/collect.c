/*
 * Collect: the sockets of every network namespace to audit into the
 * socket table.  Which namespaces (ours, a --pid's, --netns, every one
 * with --all-netns); each entered in turn on this thread and left
 * before the next; in each, netlink, else /proc/net/tcp with one
 * warning.  Diagnostics go through diag.c.
 */
#include "collect.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "source_bpf.h"
#include "source_netlink.h"
#include "source_procnet.h"
#include "source_udp.h"
#include "source_unix.h"

#define PROC_ROOT "/proc"

int collect_ephemeral_low(uint16_t *low)
{
	FILE *f = fopen(PROC_ROOT "/sys/net/ipv4/ip_local_port_range", "re");
	unsigned long lo = 0;
	char line[64];

	*low = 32768;
	/* No such file (no /proc/sys here): the kernel's default. */
	if (!f)
		return errno == ENOENT || errno == EACCES ? 0 : -errno;
	if (fgets(line, sizeof(line), f))
		lo = strtoul(line, NULL, 10);
	else if (ferror(f))
		lo = 0;
	fclose(f);
	if (lo > 0 && lo <= 65535)
		*low = (uint16_t)lo;
	return 0;
}

/* An error that says the audit itself ran short (descriptors, memory),
 * not that a source or a namespace is unavailable: never a reason to
 * fall back or to skip. */
static bool short_of_resources(int err)
{
	return err == -EMFILE || err == -ENFILE || err == -ENOMEM || err == -ENOBUFS;
}

/* read_all: we could not come back to our own namespace. */
#define READ_FATAL COLLECT_FATAL

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

/*
 * Dump the UDP and UNIX sockets the options select (-u, -x) with
 * sock_diag: UDP with its drop counters, filtered by the kernel on
 * family, state and local port like TCP; UNIX on state.  Nothing is
 * asked for a kind that was not selected.  Returns 0 or -errno.
 */
static int read_netlink_kinds(struct sock_table *t, const struct options *o,
			      uint32_t states, int *inconsistent)
{
	struct dump_request req = {
		.protocol = PROTO_UDP,
		.families = o->families,
		.states = states,
		.want_info = 1,
		.ports = o->has_ports ? o->ports : NULL,
	};
	struct netlink_stats st;
	int rc = 0;

	if (o->protocols & PROTO_BIT(PROTO_UDP)) {
		rc = netlink_dump(t, &req, &st);
		*inconsistent |= st.inconsistent;
	}
	if (!rc && (o->protocols & PROTO_BIT(PROTO_UNIX))) {
		memset(&req, 0, sizeof(req));
		req.protocol = PROTO_UNIX;
		req.states = states;
		rc = netlink_dump(t, &req, &st);
		*inconsistent |= st.inconsistent;
	}
	return rc;
}

/*
 * The UDP and UNIX sockets the options select from PROC_DIR/net/udp,
 * udp6 and unix.  *what names the file that failed.  Returns 0 or
 * -errno.
 */
static int read_proc_kinds(const char *proc_dir, struct sock_table *t,
			   const struct options *o, uint32_t states,
			   const char **what, unsigned *malformed)
{
	struct udp_stats ust;
	struct unix_stats xst;
	int rc = 0;

	if (o->protocols & PROTO_BIT(PROTO_UDP)) {
		*what = "net/udp";
		rc = udp_proc_read(proc_dir, t, FAMILY_BOTH, states, &ust);
		*malformed += ust.malformed;
	}
	if (!rc && (o->protocols & PROTO_BIT(PROTO_UNIX))) {
		*what = "net/unix";
		rc = unix_proc_read(proc_dir, t, states, &xst);
		*malformed += xst.malformed;
	}
	return rc;
}

/* How the namespaces of one audit were read, across them. */
struct read_state {
	bool proc_only;	   /* netlink failed (auto): /proc for the rest */
	bool used_proc;	   /* some namespace was read from /proc */
	bool inconsistent; /* some dump kept changing */
	bool quiet;	   /* a second dump: its failures are not reported */
	bool bpf;	   /* BPF iterators loaded: tried first */
	bool used_netlink; /* some namespace was read with netlink */
	int err;	   /* -errno of the first failure */
};


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
 * Whether this audit reads with the BPF iterators (*bpf): --source bpf
 * must load them, auto tries them and goes on with netlink without a
 * word.  Returns 0, or EXIT_CANNOT_RUN after saying what is missing.
 */
static int collect_bpf_start(const struct options *o, bool *bpf)
{
	int rc;

	*bpf = false;
	if (o->source != SOURCE_BPF && o->source != SOURCE_AUTO)
		return 0;
	rc = bpf_load();
	if (rc && o->source == SOURCE_BPF) {
		const char *why = bpf_load_error(rc);

		diag_warn("--source bpf: %s (%s)", why ? why : "cannot load the BPF programs",
			  strerror(-rc));
		return EXIT_CANNOT_RUN;
	}
	*bpf = rc == 0;
	return 0;
}

/*
 * Read the namespace the thread is in with the TCP iterator.  Returns 0,
 * EXIT_CANNOT_RUN (as a negative number) after saying why when --source
 * bpf fails or the audit ran short of descriptors or memory, or 1 when
 * auto should go on with netlink.
 */
static int collect_bpf(const struct options *o, uint32_t states,
		       struct sock_table *t, const struct netns_target *nt,
		       struct read_state *rs)
{
	int inconsistent = 0, rc = 0;

	if (o->protocols & PROTO_BIT(PROTO_TCP))
		rc = bpf_dump_tcp(t, o->families, states);
	if (!rc) {
		/* UDP and UNIX sockets come from sock_diag in the same audit
		 * (the iterators read TCP only); "source" names the TCP one. */
		rc = read_netlink_kinds(t, o, states, &inconsistent);
		if (rc) {
			if (!rs->err)
				rs->err = rc;
			if (!rs->quiet) {
				char where[512];

				diag_warn("sock_diag netlink dump%s: %s",
					  in_netns(nt, where, sizeof(where)), strerror(-rc));
			}
			return -EXIT_CANNOT_RUN;
		}
		if (inconsistent)
			diag_warn_once(DIAG_INCONSISTENT,
				       "the kernel's socket dump kept changing while "
				       "it was read; the report may be inconsistent");
		rs->inconsistent |= inconsistent != 0;
		return 0;
	}
	if (!rs->err)
		rs->err = rc;
	if (o->source != SOURCE_BPF && !short_of_resources(rc))
		return 1;
	if (!rs->quiet) {
		char where[512];

		diag_warn("BPF TCP iterator%s: %s", in_netns(nt, where, sizeof(where)),
			  strerror(-rc));
	}
	return -EXIT_CANNOT_RUN;
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
	struct table_mark mark = table_mark(t);
	struct procnet_stats pst;
	const char *what = "net/tcp";
	char where[512];
	int inconsistent = 0, rc;

	if (rs->bpf) {
		rc = collect_bpf(o, states, t, nt, rs);
		if (rc <= 0)
			return -rc;
		/* auto: the iterators failed here; netlink from now on. */
		table_rollback(t, &mark);
		rs->bpf = false;
	}
	if (o->source != SOURCE_PROC && !rs->proc_only) {
		rc = (o->protocols & PROTO_BIT(PROTO_TCP)) ?
			     read_netlink(t, o, states, &inconsistent) : 0;
		if (rc == 0)
			rc = read_netlink_kinds(t, o, states, &inconsistent);
		if (rc == 0) {
			if (inconsistent)
				diag_warn_once(DIAG_INCONSISTENT,
					       "the kernel's socket dump kept changing while "
					       "it was read; the report may be inconsistent");
			rs->inconsistent |= inconsistent != 0;
			rs->used_netlink = true;
			return 0;
		}
		if (!rs->err)
			rs->err = rc;
		/* Out of descriptors or memory, /proc would not do better:
		 * and falling back would lose tcp_info. */
		if (o->source == SOURCE_NETLINK || rs->quiet || short_of_resources(rc)) {
			if (!rs->quiet)
				diag_warn("sock_diag netlink dump%s: %s",
					  in_netns(nt, where, sizeof(where)), strerror(-rc));
			return EXIT_CANNOT_RUN;
		}
		diag_warn_once(DIAG_FALLBACK,
			       "sock_diag netlink dump%s: %s; reading /proc/net/tcp instead "
			       "(no tcp_info: idle and stalled are not set)",
			       in_netns(nt, where, sizeof(where)), strerror(-rc));
		/* Drop all a failed dump left (listener marks too); the /proc
		 * read starts over. */
		table_rollback(t, &mark);
		rs->proc_only = true;
	} else if (o->source == SOURCE_PROC) {
		diag_warn_once(DIAG_NO_TCPINFO,
			       "the /proc source has no tcp_info: idle and stalled are "
			       "not set and times are null");
	}
	/* Both families: listeners of either family decide grouping; the
	 * audit selects the family. */
	memset(&pst, 0, sizeof(pst));
	rc = (o->protocols & PROTO_BIT(PROTO_TCP)) ?
		     procnet_read(proc_dir, t, FAMILY_BOTH, states, &pst) : 0;
	if (!rc)
		rc = read_proc_kinds(proc_dir, t, o, states, &what, &pst.malformed);
	if (rc && !rs->err)
		rs->err = rc;
	if (rc && rs->quiet)
		return EXIT_CANNOT_RUN;
	if (rc) {
		diag_warn("reading %s/%s%s: %s", proc_dir, what,
			  in_netns(nt, where, sizeof(where)), strerror(-rc));
		return EXIT_CANNOT_RUN;
	}
	if (pst.malformed && !rs->quiet)
		diag_warn_once(DIAG_MALFORMED, "%u malformed lines in %s/net skipped",
			       pst.malformed, proc_dir);
	if (pst.inconsistent && !rs->quiet)
		diag_warn_once(DIAG_INCONSISTENT,
			       "the kernel's socket dump kept changing while it was read; "
			       "the report may be inconsistent");
	rs->inconsistent |= pst.inconsistent != 0;
	if ((o->protocols & PROTO_BIT(PROTO_UNIX)) && !rs->quiet)
		diag_warn_once(DIAG_UNIX_PROC,
			       "/proc/net/unix has no peers or shutdown state: "
			       "peer_inode and peer_path are null and peer_closed is not set");
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
static int read_all(struct netns_set *ns, const struct options *o, uint32_t states,
		    struct sock_table *t, struct read_state *rs, bool again)
{
	size_t i;

	for (i = 0; i < ns->n; i++) {
		struct netns_target *nt = &ns->v[i];
		char label[320];
		int rc, status;

		if (again && !nt->audited)
			continue;
		rc = netns_enter(ns, i);
		if (rc) {
			if (again) {
				rs->err = rc;
				return EXIT_CANNOT_RUN;
			}
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
			/* --all-netns: a namespace gone or not ours to enter
			 * is said once at the end; anything else is an
			 * error of the audit. */
			if (rc != -ENOENT && rc != -EPERM && rc != -EACCES) {
				diag_warn("cannot enter network namespace %s: %s",
					  netns_label(nt, label, sizeof(label)), strerror(-rc));
				return EXIT_CANNOT_RUN;
			}
			continue;
		}
		t->cur_netns = nt->tag;
		status = read_sockets(o, states, t,
				      nt->tag ? PROC_ROOT "/thread-self" : PROC_ROOT,
				      nt, rs);
		/* The port range is the namespace's own too. */
		if (!status && nt->tag) {
			uint16_t low;

			rc = collect_ephemeral_low(&low);
			if (!rc)
				rc = table_set_ephemeral_low(t, nt->tag, low) < 0 ? -ENOMEM : 0;
			if (rc) {
				if (!rs->err)
					rs->err = rc;
				if (!rs->quiet)
					diag_warn("reading the ephemeral port range%s: %s",
						  in_netns(nt, label, sizeof(label)), strerror(-rc));
				status = EXIT_CANNOT_RUN;
			}
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
 * The namespaces to read: ours by default; with --pid, the one each
 * process is in; with --netns, each one named; with --all-netns, every
 * one found (options add up).  Returns 0 or an exit status after
 * saying why.
 */
int collect_namespaces(struct netns_set *ns, const struct options *o,
		       struct pid_netns *pn)
{
	bool named = o->nnetns || o->all_netns;
	char path[4096];
	size_t i;
	int rc;

	memset(pn, 0, sizeof(*pn));
	rc = netns_init(ns, PROC_ROOT, NETNS_RUN_DIR);
	/* Without our namespace's identity only ours can be read, which
	 * is fine unless the error is the audit's own. */
	if (rc && (named || (rc != -ENOENT && rc != -EACCES && rc != -EPERM))) {
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
		if ((rc == -ENOENT || rc == -ESRCH) && o->pids_found)
			continue; /* exited since it was found */
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
			diag_warn("PID %d: %s%s", (int)o->pids[i],
				  rc == -ENOENT ? "no such process" :
				  rc == -ESRCH ? "exited (a zombie its parent has not reaped)" :
				  "reading its network namespace: ",
				  rc == -ENOENT || rc == -ESRCH ? "" : strerror(-rc));
			return EXIT_CANNOT_RUN;
		}
	}
	for (i = 0; i < o->nnetns; i++) {
		const char *what;

		rc = netns_add_arg(ns, o->netns[i], &what);
		netns_arg_path(ns, o->netns[i], path, sizeof(path));
		if (rc == -ENOMEM)
			goto nomem;
		if (rc == -ENOENT || rc == -ENOTDIR)
			diag_warn("--netns '%s': no such network namespace (%s)",
				  o->netns[i], path);
		else if (rc == -EINVAL)
			diag_warn("--netns '%s': %s is %s, not a network namespace",
				  o->netns[i], path, what ? what : "a file");
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
	if (ns->shown && !o->all_netns) {
		rc = netns_name_all(ns);
		if (rc == -ENOMEM)
			goto nomem;
		if (rc) {
			diag_warn("reading the names in %s: %s", NETNS_RUN_DIR, strerror(-rc));
			return EXIT_CANNOT_RUN;
		}
	}
	return 0;
nomem:
	diag_warn("out of memory");
	return EXIT_CANNOT_RUN;
}

void collect_prepare(const struct options *o)
{
	if (o->source == SOURCE_BPF || o->source == SOURCE_AUTO)
		(void)bpf_load();
}

/* The moment halfway from a to b. */
static struct timespec halfway(const struct timespec *a, const struct timespec *b)
{
	long long ns = ((long long)(b->tv_sec - a->tv_sec) * 1000000000LL +
			(b->tv_nsec - a->tv_nsec)) / 2;
	struct timespec m = *a;

	m.tv_sec += (time_t)(ns / 1000000000LL);
	m.tv_nsec += (long)(ns % 1000000000LL);
	if (m.tv_nsec >= 1000000000L) {
		m.tv_sec++;
		m.tv_nsec -= 1000000000L;
	}
	return m;
}

int collect_sockets(struct netns_set *ns, struct sock_table *t,
		    const struct options *o, uint32_t states,
		    struct collect_result *res)
{
	struct read_state rs = { 0 };
	struct timespec r0, m0, r1, m1;
	int status = collect_bpf_start(o, &rs.bpf);

	memset(res, 0, sizeof(*res));
	clock_gettime(CLOCK_REALTIME, &r0);
	clock_gettime(CLOCK_MONOTONIC, &m0);
	if (!status)
		status = read_all(ns, o, states, t, &rs, false);
	if (status)
		return status == READ_FATAL ? EXIT_CANNOT_RUN : status;
	clock_gettime(CLOCK_REALTIME, &r1);
	clock_gettime(CLOCK_MONOTONIC, &m1);
	res->read_real = halfway(&r0, &r1);
	res->read_mono = halfway(&m0, &m1);
	res->source = rs.used_proc ? SOURCE_PROC :
		      rs.used_netlink ? SOURCE_NETLINK : SOURCE_BPF;
	res->inconsistent = rs.inconsistent;
	if (o->all_netns)
		warn_skipped(ns);
	return 0;
}

int collect_again(struct netns_set *ns, const struct options *o,
		  enum source_kind used, struct sock_table *again)
{
	struct read_state rs = { .proc_only = used == SOURCE_PROC,
				 .bpf = used == SOURCE_BPF,
				 .quiet = true };
	int rc = read_all(ns, o, STATES_ALL, again, &rs, true);

	if (rc == READ_FATAL)
		return COLLECT_FATAL;
	if (rc)
		return rs.err ? rs.err : -EIO;
	return table_index(again);
}
