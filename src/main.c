/*
 * sockaudit: audit TCP sockets for connection leaks.
 *
 * main parses the options, runs the stages and maps what they return to
 * exit statuses; it is the one place that prints diagnostics:
 *
 *   source (netlink, else /proc/net/tcp) -> socket table
 *   -> owners (/proc/PID/fd) -> audit -> table or JSON on stdout
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "fdscan.h"
#include "options.h"
#include "owners.h"
#include "render.h"
#include "source_netlink.h"
#include "source_procnet.h"
#include "table.h"

#define PROC_ROOT "/proc"

enum exit_status {
	EXIT_OK = 0,
	EXIT_ASSERTION = 1,
	EXIT_USAGE = 2,
	EXIT_CANNOT_RUN = 3,
};

static void warn_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void warn_msg(const char *fmt, ...)
{
	va_list ap;

	fputs("sockaudit: ", stderr);
	va_start(ap, fmt);
	/* clang-analyzer 14 misreads va_start through glibc's macros. */
	vfprintf(stderr, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	fputc('\n', stderr);
}

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
 * the source used in *used (SOURCE_NETLINK or SOURCE_PROC), or an exit
 * status after printing why.
 */
static int read_sockets(struct sock_table *t, const struct options *o,
			uint32_t states, enum source_kind *used)
{
	struct procnet_stats pst;
	int inconsistent = 0, rc;

	if (o->source != SOURCE_PROC) {
		rc = read_netlink(t, o, states, &inconsistent);
		if (rc == 0) {
			if (inconsistent)
				warn_msg("the kernel's socket dump kept changing while "
					 "it was read; the report may be inconsistent");
			*used = SOURCE_NETLINK;
			return 0;
		}
		if (o->source == SOURCE_NETLINK) {
			warn_msg("sock_diag netlink dump: %s", strerror(-rc));
			return EXIT_CANNOT_RUN;
		}
		warn_msg("sock_diag netlink dump: %s; reading /proc/net/tcp instead "
			 "(no tcp_info: idle and stalled are not set)", strerror(-rc));
		table_free(t);
	} else {
		warn_msg("the /proc source has no tcp_info: idle and stalled are "
			 "not set and times are null");
	}
	/* Both families: listeners of either family decide grouping; the
	 * audit selects the family. */
	rc = procnet_read(PROC_ROOT, t, FAMILY_BOTH, states, &pst);
	if (rc) {
		warn_msg("reading %s/net/tcp: %s", PROC_ROOT, strerror(-rc));
		return EXIT_CANNOT_RUN;
	}
	if (pst.malformed)
		warn_msg("%u malformed lines in %s/net/tcp skipped", pst.malformed,
			 PROC_ROOT);
	*used = SOURCE_PROC;
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
			enum source_kind used)
{
	struct sock_table again;
	struct procnet_stats pst;
	int inconsistent, rc;

	table_init(&again);
	if (used == SOURCE_NETLINK)
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
 * status after printing why. */
static int check_pids(const struct options *o)
{
	size_t i;

	for (i = 0; i < o->npids; i++) {
		pid_t tgid = 0;
		int rc = owners_pid_check(PROC_ROOT, o->pids[i], &tgid);

		if (rc) {
			warn_msg("PID %d: %s", (int)o->pids[i],
				 rc == -ENOENT ? "no such process" : strerror(-rc));
			return EXIT_CANNOT_RUN;
		}
		if (tgid != o->pids[i]) {
			warn_msg("PID %d is a thread of process %d: give the process",
				 (int)o->pids[i], (int)tgid);
			return EXIT_CANNOT_RUN;
		}
	}
	return 0;
}

static int render(const struct options *o, const struct sock_table *t,
		  const struct audit *a, const struct render_opts *ro)
{
	if (o->format == FORMAT_JSON)
		return render_json(stdout, t, a, ro);
	if (o->list)
		return render_table_list(stdout, t, a, ro);
	return render_table_groups(stdout, t, a, ro);
}

static int audit_host(const struct options *o)
{
	struct sock_table t;
	struct audit a;
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
	};
	struct render_opts ro = { NULL, o->has_max, o->max };
	uint32_t states = o->states | STATE_BIT(ST_LISTEN);
	enum source_kind used;
	int rc, status;

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
		warn_msg("reading process descriptors in %s: %s", PROC_ROOT,
			 strerror(-rc));
		return EXIT_CANNOT_RUN;
	}
	table_init(&t);
	status = read_sockets(&t, o, states, &used);
	if (status)
		goto out;
	ro.source = used == SOURCE_NETLINK ? "netlink" : "proc";
	rc = fdscan_wait(&scan);
	if (!rc)
		rc = table_index(&t);
	if (!rc)
		rc = owners_join(&t, &oo, &scan, &ost);
	if (rc) {
		warn_msg("joining sockets to processes: %s", strerror(-rc));
		status = EXIT_CANNOT_RUN;
		goto out;
	}
	/* A PID the user named must be read, or --max would pass on an
	 * empty report. */
	if (o->npids && ost.denied) {
		warn_msg("PID %d: descriptors not readable (%s); run as root",
			 (int)ost.denied_pid, strerror(ost.denied_errno));
		status = EXIT_CANNOT_RUN;
		goto out;
	}
	if (ost.unchecked && recheck_dead(&t, o, used) < 0)
		warn_msg("second dump to confirm dead sockets failed; some may be "
			 "live sockets opened during the scan");
	rc = audit_run(&t, &ao, &a);
	if (rc) {
		warn_msg("audit: %s", strerror(-rc));
		status = EXIT_CANNOT_RUN;
		goto out;
	}
	if (ost.denied) {
		unsigned hidden = ownerless(&t, &a);

		warn_msg("descriptors of %u process%s not readable (%s): owners of "
			 "%u socket%s not visible; run as root",
			 ost.denied, ost.denied == 1 ? "" : "es",
			 strerror(ost.denied_errno), hidden, hidden == 1 ? "" : "s");
	}
	rc = render(o, &t, &a, &ro);
	if (rc) {
		warn_msg("writing the report: %s", strerror(-rc));
		status = EXIT_CANNOT_RUN;
	} else if (o->has_max && a.nselected > o->max) {
		warn_msg("assertion failed: %zu socket%s selected, more than --max %llu "
			 "(by %llu)", a.nselected, a.nselected == 1 ? "" : "s",
			 (unsigned long long)o->max,
			 (unsigned long long)(a.nselected - o->max));
		status = EXIT_ASSERTION;
	}
	audit_free(&a);
out:
	fdscan_free(&scan);
	table_free(&t);
	return status;
}

int main(int argc, char **argv)
{
	struct options o;
	char err[512];
	int rc;

	rc = options_parse(argc, argv, &o, err, sizeof(err));
	if (rc == -ENOMEM) {
		warn_msg("out of memory");
		return EXIT_CANNOT_RUN;
	}
	if (rc) {
		warn_msg("%s (try 'sockaudit --help')", err);
		return EXIT_USAGE;
	}
	if (o.action == ACTION_HELP) {
		options_usage(stdout);
		options_free(&o);
		return EXIT_OK;
	}
	if (o.action == ACTION_VERSION) {
		printf("sockaudit %s\n", SOCKAUDIT_VERSION);
		options_free(&o);
		return EXIT_OK;
	}
	rc = audit_host(&o);
	options_free(&o);
	return rc;
}
