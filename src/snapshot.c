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

/*
 * Fill the table from the source the options ask for.  Returns 0 and
 * the source used in s->source, or an exit status after saying why.
 */
static int read_sockets(struct snapshot *s, const struct options *o,
			uint32_t states)
{
	struct sock_table *t = &s->t;
	struct procnet_stats pst;
	int inconsistent = 0, rc;

	if (o->source != SOURCE_PROC) {
		rc = read_netlink(t, o, states, &inconsistent);
		if (rc == 0) {
			if (inconsistent)
				diag_warn_once(DIAG_INCONSISTENT,
					       "the kernel's socket dump kept changing while "
					       "it was read; the report may be inconsistent");
			s->inconsistent = inconsistent != 0;
			s->source = "netlink";
			return 0;
		}
		if (o->source == SOURCE_NETLINK) {
			diag_warn("sock_diag netlink dump: %s", strerror(-rc));
			return EXIT_CANNOT_RUN;
		}
		diag_warn_once(DIAG_FALLBACK,
			       "sock_diag netlink dump: %s; reading /proc/net/tcp instead "
			       "(no tcp_info: idle and stalled are not set)", strerror(-rc));
		table_free(t);
	} else {
		diag_warn_once(DIAG_NO_TCPINFO,
			       "the /proc source has no tcp_info: idle and stalled are "
			       "not set and times are null");
	}
	/* Both families: listeners of either family decide grouping; the
	 * audit selects the family. */
	rc = procnet_read(PROC_ROOT, t, FAMILY_BOTH, states, &pst);
	if (rc) {
		diag_warn("reading %s/net/tcp: %s", PROC_ROOT, strerror(-rc));
		return EXIT_CANNOT_RUN;
	}
	if (pst.malformed)
		diag_warn_once(DIAG_MALFORMED, "%u malformed lines in %s/net/tcp skipped",
			       pst.malformed, PROC_ROOT);
	s->source = "proc";
	return 0;
}

/*
 * Dead candidates whose state could not be read (pidfd_getfd refused,
 * e.g. without root) may be sockets opened after the dump: dump again
 * from the same source and let owners_recheck keep as dead only those
 * still missing and still held.  Returns 0 or -errno (the candidates
 * then stay dead).
 */
static int recheck_dead(struct sock_table *t, const struct options *o,
			const char *source)
{
	struct sock_table again;
	struct procnet_stats pst;
	int inconsistent, rc;

	table_init(&again);
	if (!strcmp(source, "netlink"))
		rc = read_netlink(&again, o, STATES_ALL, &inconsistent);
	else
		rc = procnet_read(PROC_ROOT, &again, FAMILY_BOTH, STATES_ALL, &pst);
	if (!rc)
		rc = table_index(&again);
	if (!rc)
		owners_recheck(t, &again, PROC_ROOT);
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
				  rc == -ENOENT ? "no such process" : strerror(-rc));
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
	uint32_t states = o->states | STATE_BIT(ST_LISTEN);
	struct timespec start;
	int rc, status;

	memset(s, 0, sizeof(*s));
	clock_gettime(CLOCK_REALTIME, &s->taken);
	clock_gettime(CLOCK_MONOTONIC, &start);
	status = check_pids(o);
	if (status)
		return status;
	/* Dead sockets (state close) are told apart from the ones the
	 * kernel filtered out only by a dump of every state. */
	if (o->states & STATE_BIT(ST_CLOSE)) {
		states = STATES_ALL;
		oo.netns = owners_netns_of(PROC_ROOT, 0);
	}

	/* The descriptors are read on other threads while the sockets are
	 * dumped: on a big host these are most of the time, and they do not
	 * depend on each other until the join. */
	rc = fdscan_start(&scan, PROC_ROOT, o->pids, o->npids);
	if (rc) {
		diag_warn("reading process descriptors in %s: %s", PROC_ROOT,
			  strerror(-rc));
		return EXIT_CANNOT_RUN;
	}
	table_init(&s->t);
	status = read_sockets(s, o, states);
	if (status)
		goto fail;
	rc = fdscan_wait(&scan);
	if (!rc)
		rc = table_index(&s->t);
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
	if (ost.unchecked && recheck_dead(&s->t, o, s->source) < 0)
		diag_warn_once(DIAG_RECHECK,
			       "second dump to confirm dead sockets failed; some may be "
			       "live sockets opened during the scan");
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
	fdscan_free(&scan);
	s->seconds = elapsed(&start);
	return 0;
fail:
	fdscan_free(&scan);
	table_free(&s->t);
	return status;
}

void snapshot_free(struct snapshot *s)
{
	audit_free(&s->a);
	table_free(&s->t);
}
