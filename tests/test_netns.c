/*
 * Network namespaces, with real sockets in two namespaces this test
 * makes (`ip netns add`, names with the test's PID, loopback up; deleted
 * at exit, on a signal, and checked gone with `ip netns list`):
 *
 *   A   a server with idle clients, on port P (chosen by the kernel)
 *   B   a CLOSE-WAIT leak on the same port P, and a connection reset by
 *       its server whose client keeps a dead descriptor
 *
 * --pid of a process in A, --netns A (by name, by /run/netns path, by
 * /proc/PID/ns/net, both sources) and --all-netns are compared with
 * `ip netns exec NS ss -tanpe`: states, addresses, inodes, uids, queues
 * and owners, every socket tagged with its namespace's inode and name,
 * one server group for P per namespace.  Errors: a namespace that does
 * not exist or is not one (status 3), no privilege to enter (status 3
 * for --netns and --pid, a warning and a partial report for
 * --all-netns), a failure to come back (status 3, through an LD_PRELOAD
 * shim).  Needs root and ip(8); skipped with a message otherwise.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/keyset.h"
#include "lib/nstest.h"
#include "lib/scenario.h"
#include "lib/testlib.h"
#include "lib/runsuite.h"

static char ns_a[32], ns_b[32];

/* ---- the two namespaces' sockets ------------------------------------ */

struct world {
	struct scenario a;  /* A: idle server and clients on port */
	struct scenario b;  /* B: CLOSE-WAIT on the same port */
	struct scenario br; /* B: a reset: the client holds a dead socket */
	int port;
	uint32_t ino_a, ino_b;
};

static void world_start(struct world *w)
{
	struct scen_opts o;

	memset(&o, 0, sizeof(o));
	o.client_uid = -1;
	o.extra_conns = 3;
	nstest_enter(ns_a);
	scenario_start_opts(&w->a, SCEN_IDLE, AF_INET, "nsa", &o);
	nstest_leave();
	w->port = w->a.port;

	memset(&o, 0, sizeof(o));
	o.client_uid = -1;
	o.listen_port = w->port;
	nstest_enter(ns_b);
	scenario_start_opts(&w->b, SCEN_CLOSE_WAIT, AF_INET, "nsb", &o);
	o.listen_port = 0;
	scenario_start_opts(&w->br, SCEN_RESET, AF_INET, "nsbr", &o);
	nstest_leave();
	ck_assert_int_eq(w->b.port, w->port);
	w->ino_a = nstest_inode(ns_a);
	w->ino_b = nstest_inode(ns_b);
	ck_assert_uint_ne(w->ino_a, w->ino_b);
}

static void world_stop(struct world *w)
{
	scenario_stop(&w->a);
	scenario_stop(&w->b);
	scenario_stop(&w->br);
}

/* Our own namespace's inode. */
static uint32_t self_ino(void)
{
	struct stat st;

	ck_assert_int_eq(stat("/proc/self/ns/net", &st), 0);
	return (uint32_t)st.st_ino;
}

/* ---- canonical socket keys ------------------------------------------ */

/* What both views must agree on (send_q but for listeners, whose
 * backlog the sources report differently). */
static void make_key(char *key, const char *state, const char *laddr, int lport,
		     const char *raddr, int rport, unsigned long inode,
		     unsigned long uid, unsigned long rq, long sq, long (*owners)[2],
		     int nowners)
{
	size_t len;

	qsort(owners, (size_t)nowners, sizeof(*owners), keyset_owner_cmp);
	len = (size_t)snprintf(key, KEY_LEN,
			       "%s %s:%d %s:%d ino=%lu uid=%lu rq=%lu sq=%ld owners=",
			       state, laddr, lport, raddr, rport, inode, uid, rq,
			       strcmp(state, "listen") ? sq : -1);
	for (int i = 0; i < nowners && len < KEY_LEN; i++)
		len += (size_t)snprintf(key + len, KEY_LEN - len, "%ld/%ld,",
					owners[i][0], owners[i][1]);
}

/* The report's sockets of namespace `ino`, but dead ones (the kernel
 * does not dump those). */
static void keys_from_report(const cJSON *doc, uint32_t ino, struct keyset *ks)
{
	const cJSON *s, *p;

	cJSON_ArrayForEach(s, json_array(doc, "sockets")) {
		long owners[16][2];
		char key[KEY_LEN];
		int n = 0;

		if ((uint32_t)json_int(s, "netns") != ino || json_has_flag(s, "dead"))
			continue;
		cJSON_ArrayForEach(p, json_array(s, "processes")) {
			ck_assert_int_lt(n, 16);
			owners[n][0] = (long)json_int(p, "pid");
			owners[n][1] = (long)json_int(p, "fd");
			n++;
		}
		make_key(key, json_str(s, "state"), json_str(s, "local_address"),
			 (int)json_int(s, "local_port"), json_str(s, "remote_address"),
			 (int)json_int(s, "remote_port"),
			 (unsigned long)json_int(s, "inode"),
			 (unsigned long)json_int(s, "uid"),
			 (unsigned long)json_int(s, "recv_q"), (long)json_int(s, "send_q"),
			 owners, n);
		keyset_add(ks, key);
	}
}

/*
 * The sockets ss sees in namespace NAME; with only_pid, those that
 * process holds, with only its descriptors as owners (--pid reads no
 * other process).
 */
static void keys_from_ss(const char *name, pid_t only_pid, struct keyset *ks)
{
	struct ss_entry *e;
	int n = nstest_ss_dump(name, &e);

	ck_assert_msg(n >= 0, "ip netns exec %s ss -tanpeH failed", name);
	for (int i = 0; i < n; i++) {
		long owners[SS_MAX_USERS][2];
		char key[KEY_LEN];
		int k = 0;

		for (int j = 0; j < e[i].nusers; j++) {
			if (only_pid && e[i].pids[j] != only_pid)
				continue;
			owners[k][0] = e[i].pids[j];
			owners[k][1] = e[i].fds[j];
			k++;
		}
		if (only_pid && k == 0)
			continue;
		make_key(key, e[i].state, e[i].laddr, e[i].lport, e[i].raddr,
			 e[i].rport, e[i].inode, e[i].uid, e[i].recv_q, (long)e[i].send_q,
			 owners, k);
		keyset_add(ks, key);
	}
	free(e);
}

/* ---- report checks -------------------------------------------------- */

/* Every socket and group carries netns and netns_name, and the name is
 * the namespace's when it has one of ours. */
static void check_tags(const cJSON *doc, const struct world *w)
{
	static const char *const arrays[] = { "sockets", "groups" };

	for (int k = 0; k < 2; k++) {
		const cJSON *it;

		cJSON_ArrayForEach(it, json_array(doc, arrays[k])) {
			uint32_t ino = (uint32_t)json_int(it, "netns");

			ck_assert_msg(cJSON_GetObjectItemCaseSensitive(it, "netns_name"),
				      "%s entry without netns_name", arrays[k]);
			if (ino == w->ino_a)
				ck_assert_str_eq(json_str(it, "netns_name"), ns_a);
			else if (ino == w->ino_b)
				ck_assert_str_eq(json_str(it, "netns_name"), ns_b);
		}
	}
}

/* The entry of "namespaces" for inode ino, or NULL. */
static const cJSON *namespace_entry(const cJSON *doc, uint32_t ino)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, json_array(doc, "namespaces"))
		if ((uint32_t)json_int(it, "netns") == ino)
			return it;
	return NULL;
}

/* Server groups of `port`, by namespace: how many, and the one of ino. */
static int server_groups(const cJSON *doc, int port, uint32_t ino,
			 const cJSON **found)
{
	const cJSON *g;
	int n = 0;

	*found = NULL;
	cJSON_ArrayForEach(g, json_array(doc, "groups")) {
		if (strcmp(json_str(g, "side"), "server") ||
		    json_int(g, "local_port") != port)
			continue;
		n++;
		if ((uint32_t)json_int(g, "netns") == ino)
			*found = g;
	}
	return n;
}

/* Run sockaudit, expect status 0, return the JSON report. */
static cJSON *report_ok(const char *const *args)
{
	struct run_result r;
	cJSON *doc;

	run_sockaudit_v(&r, NULL, args);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	doc = json_report(&r);
	run_result_free(&r);
	return doc;
}

/* The line of `text` that starts with `prefix` and contains `needle`. */
static bool has_row(const char *text, const char *prefix, const char *needle)
{
	const char *line = text;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (!strncmp(line, prefix, strlen(prefix))) {
			char buf[1024];

			snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
			if (strstr(buf, needle))
				return true;
		}
		line = end ? end + 1 : NULL;
	}
	return false;
}

/* ---- --pid ---------------------------------------------------------- */

START_TEST(test_pid_in_namespace)
{
	struct world w;
	struct keyset got = { 0 }, want = { 0 };
	struct run_result r;
	const cJSON *g, *it;
	char pid[16], both[40], key[16];
	cJSON *doc;
	int listed = 0;

	world_start(&w);
	snprintf(pid, sizeof(pid), "%d", (int)w.a.pids[PROC_SERVER]);
	doc = report_ok((const char *const[]){ "-j", "--pid", pid, NULL });
	check_tags(doc, &w);
	cJSON_ArrayForEach(it, json_array(doc, "sockets")) {
		ck_assert_uint_eq((uint32_t)json_int(it, "netns"), w.ino_a);
		listed++;
	}
	/* The listener and four accepted connections. */
	ck_assert_int_eq(listed, 5);
	ck_assert_int_eq(server_groups(doc, w.port, w.ino_a, &g), 1);
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(json_int(g, "sockets"), 5);
	ck_assert_ptr_nonnull(namespace_entry(doc, w.ino_a));
	ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "namespaces")), 1);
	keys_from_report(doc, w.ino_a, &got);
	cJSON_Delete(doc);
	keys_from_ss(ns_a, w.a.pids[PROC_SERVER], &want);
	keyset_expect_same(&got, &want, "--pid (namespace A)");

	/* The table: one namespace, named on the totals line. */
	run_sockaudit(&r, NULL, "--pid", pid, NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	ck_assert_msg(strncmp(r.out, "GROUP", 5) == 0, "%s", r.out);
	snprintf(key, sizeof(key), "*:%d ", w.port);
	ck_assert_msg(has_row(r.out, "*:", key), "%s", r.out);
	ck_assert_ptr_nonnull(strstr(r.out, ", network namespace "));
	ck_assert_ptr_nonnull(strstr(r.out, ns_a));
	run_result_free(&r);

	/* Two PIDs in two namespaces: both read, a NETNS column. */
	snprintf(both, sizeof(both), "%d,%d", (int)w.a.pids[PROC_SERVER],
		 (int)w.b.pids[PROC_CLIENT]);
	run_sockaudit(&r, NULL, "--pid", both, "--list", NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	ck_assert_msg(strncmp(r.out, "NETNS", 5) == 0, "%s", r.out);
	ck_assert_msg(has_row(r.out, ns_a, "LISTEN"), "%s", r.out);
	ck_assert_msg(has_row(r.out, ns_b, "CLOSE-WAIT"), "%s", r.out);
	ck_assert_ptr_nonnull(strstr(r.out, ", 2 network namespaces)"));
	run_result_free(&r);
	world_stop(&w);
}
END_TEST

/* ---- --netns, three spellings, every source -------------------------- */

START_TEST(test_netns_forms)
{
	static const char *const sources[] = { "netlink", "proc", "bpf" };
	const char *source = sources[_i % 3];
	int form = _i / 3;
	struct world w;
	struct keyset got = { 0 }, want = { 0 };
	struct run_result r;
	char arg[64], what[96];
	const cJSON *it, *ns;
	cJSON *doc;

	/* A build or kernel without BPF: test_bpf says so. */
	if (!strcmp(source, "bpf") && strcmp(auto_source(), "bpf"))
		return;
	world_start(&w);
	if (form == 0)
		snprintf(arg, sizeof(arg), "%s", ns_a);
	else if (form == 1)
		snprintf(arg, sizeof(arg), "/run/netns/%s", ns_a);
	else
		snprintf(arg, sizeof(arg), "/proc/%d/ns/net", (int)w.a.pids[PROC_CLIENT]);
	doc = report_ok((const char *const[]){ "-j", "--source", source, "--netns",
					       arg, NULL });
	ck_assert_str_eq(json_str(doc, "source"), source);
	check_tags(doc, &w);
	cJSON_ArrayForEach(it, json_array(doc, "sockets"))
		ck_assert_uint_eq((uint32_t)json_int(it, "netns"), w.ino_a);
	ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "namespaces")), 1);
	ns = namespace_entry(doc, w.ino_a);
	ck_assert_ptr_nonnull(ns);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ns, "audited")));
	keys_from_report(doc, w.ino_a, &got);
	cJSON_Delete(doc);
	keys_from_ss(ns_a, 0, &want);
	snprintf(what, sizeof(what), "--source %s --netns %s", source, arg);
	keyset_expect_same(&got, &want, what);

	run_sockaudit(&r, NULL, "--source", source, "--netns", arg, NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	ck_assert_msg(strncmp(r.out, "GROUP", 5) == 0, "%s", r.out);
	ck_assert_ptr_nonnull(strstr(r.out, ", network namespace "));
	run_result_free(&r);
	world_stop(&w);
}
END_TEST

/* ---- --all-netns ---------------------------------------------------- */

START_TEST(test_all_netns)
{
	struct world w;
	struct keyset got = { 0 }, want = { 0 };
	struct run_result r;
	const cJSON *ga, *gb, *it;
	const struct scen_sock *cw, *dead;
	char port[16], key[16];
	cJSON *doc;
	int ndead = 0;

	world_start(&w);
	doc = report_ok((const char *const[]){ "-j", "--all-netns", NULL });
	check_tags(doc, &w);

	/* Each namespace as ss sees it in there. */
	keys_from_report(doc, w.ino_a, &got);
	keys_from_ss(ns_a, 0, &want);
	keyset_expect_same(&got, &want, "--all-netns, namespace A");
	keys_from_report(doc, w.ino_b, &got);
	keys_from_ss(ns_b, 0, &want);
	keyset_expect_same(&got, &want, "--all-netns, namespace B");

	/* The same port: one server group in each namespace. */
	ck_assert_int_eq(server_groups(doc, w.port, w.ino_a, &ga), 2);
	server_groups(doc, w.port, w.ino_b, &gb);
	ck_assert_ptr_nonnull(ga);
	ck_assert_ptr_nonnull(gb);
	ck_assert_ptr_ne(ga, gb);
	ck_assert_int_eq(json_int(ga, "close_wait"), 0);
	ck_assert_int_ge(json_int(ga, "sockets"), 5);
	ck_assert_ptr_nonnull(json_group_process_entry(ga, w.a.pids[PROC_SERVER]));
	ck_assert_ptr_nonnull(json_group_process_entry(gb, w.b.pids[PROC_SERVER]));
	ck_assert_ptr_null(json_group_process_entry(gb, w.a.pids[PROC_SERVER]));

	/* B's leak is B's; its dead socket too, and A has none. */
	cw = scenario_sock(&w.b, ROLE_CLIENT_CONN);
	it = json_socket_by_inode(doc, cw->inode);
	ck_assert_ptr_nonnull(it);
	ck_assert(json_has_flag(it, "close_wait"));
	ck_assert_uint_eq((uint32_t)json_int(it, "netns"), w.ino_b);
	dead = scenario_sock(&w.br, ROLE_CLIENT_CONN);
	cJSON_ArrayForEach(it, json_array(doc, "sockets")) {
		uint32_t ino = (uint32_t)json_int(it, "netns");

		if (!json_has_flag(it, "dead"))
			continue;
		ck_assert_uint_ne(ino, w.ino_a);
		if (ino == w.ino_b) {
			ndead++;
			ck_assert_int_eq(json_int(it, "inode"), (long long)dead->inode);
			ck_assert_ptr_nonnull(json_socket_process(it, w.br.pids[PROC_CLIENT]));
		}
	}
	ck_assert_int_eq(ndead, 1);
	it = json_group_process(doc, w.br.pids[PROC_CLIENT]);
	ck_assert_ptr_nonnull(it);
	ck_assert_uint_eq((uint32_t)json_int(it, "netns"), w.ino_b);

	/* Every namespace read, ours too. */
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
		namespace_entry(doc, w.ino_a), "audited")));
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
		namespace_entry(doc, w.ino_b), "audited")));
	ck_assert_ptr_nonnull(namespace_entry(doc, self_ino()));
	cJSON_Delete(doc);

	/* The table: a NETNS column, port P twice. */
	snprintf(port, sizeof(port), "%d", w.port);
	snprintf(key, sizeof(key), "*:%d ", w.port);
	run_sockaudit(&r, NULL, "--all-netns", "--port", port, NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	ck_assert_msg(strncmp(r.out, "NETNS", 5) == 0, "%s", r.out);
	ck_assert_msg(has_row(r.out, ns_a, key), "%s", r.out);
	ck_assert_msg(has_row(r.out, ns_b, key), "%s", r.out);
	ck_assert_int_eq(count_lines_containing(r.out, key), 2);
	run_result_free(&r);
	world_stop(&w);
}
END_TEST

/* ---- errors --------------------------------------------------------- */


/* Status 3, stdout empty, one stderr line with our prefix holding
 * every needle. */
static void expect_cannot_run(const struct run_result *r, const char *n1,
			      const char *n2)
{
	ck_assert_msg(r->status == 3, "%s", run_describe(r));
	ck_assert_msg(r->out_len == 0, "stdout not empty: %s", run_describe(r));
	ck_assert_msg(count_lines(r->err) == 1 && all_lines_start_with(r->err, "sockaudit: "),
		      "%s", run_describe(r));
	ck_assert_msg(strstr(r->err, n1), "no '%s' in: %s", n1, r->err);
	ck_assert_msg(!n2 || strstr(r->err, n2), "no '%s' in: %s", n2, r->err);
}

/* Rows: the namespace as given, run as nobody or not, what stderr says. */
enum { ARG_MISSING, ARG_NOT_NETNS, ARG_MNT_NS, ARG_NAME, ARG_PATH };
static const struct {
	int arg;
	bool nobody;
	const char *says;
} error_rows[] = {
	{ ARG_MISSING, false, "no such network namespace" },
	{ ARG_NOT_NETNS, false, "is a directory, not a network namespace" },
	{ ARG_MNT_NS, false, "is a mount namespace, not a network namespace" },
	{ ARG_NAME, true, "cannot enter network namespace" },
	{ ARG_PATH, true, "cannot enter network namespace" },
};

START_TEST(test_netns_errors)
{
	struct run_result r;
	char arg[96];
	const char *name = ns_a;

	switch (error_rows[_i].arg) {
	case ARG_MISSING:
		snprintf(arg, sizeof(arg), "sa7-none-%d", (int)getpid());
		name = arg;
		break;
	case ARG_NOT_NETNS:
		snprintf(arg, sizeof(arg), "/tmp");
		name = arg;
		break;
	case ARG_MNT_NS:
		snprintf(arg, sizeof(arg), "/proc/%d/ns/mnt", (int)getpid());
		name = arg;
		break;
	case ARG_NAME:
		snprintf(arg, sizeof(arg), "%s", ns_a);
		break;
	default:
		snprintf(arg, sizeof(arg), "/run/netns/%s", ns_a);
		break;
	}
	if (error_rows[_i].nobody)
		run_sockaudit_as_nobody(&r, (const char *const[]){ "--netns", arg, NULL });
	else
		run_sockaudit(&r, NULL, "--netns", arg, NULL);
	expect_cannot_run(&r, error_rows[_i].says, name);
	/* Without the privilege: say why, and what would do. */
	if (error_rows[_i].nobody)
		ck_assert_msg(strstr(r.err, strerror(EPERM)) && strstr(r.err, "run as root"),
			      "%s", r.err);
	run_result_free(&r);
}
END_TEST

/* Unprivileged --all-netns: our namespace is read, A and B are not; one
 * warning line says so; the report is JSON and says which were not. */
START_TEST(test_all_netns_unprivileged)
{
	struct run_result r;
	const cJSON *it;
	uint32_t self = self_ino(), a = nstest_inode(ns_a), b = nstest_inode(ns_b);
	cJSON *doc;

	run_sockaudit_as_nobody(&r, (const char *const[]){ "-j", "--all-netns", NULL });
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	ck_assert_msg(all_lines_start_with(r.err, "sockaudit: "), "%s", r.err);
	ck_assert_msg(count_lines_containing(r.err, "network namespaces not audited") == 1,
		      "%s", r.err);
	ck_assert_msg(count_lines_containing(r.err, "run as root") >= 1, "%s", r.err);
	doc = json_report(&r);
	run_result_free(&r);
	cJSON_ArrayForEach(it, json_array(doc, "sockets"))
		ck_assert_uint_eq((uint32_t)json_int(it, "netns"), self);
	for (int k = 0; k < 2; k++) {
		it = namespace_entry(doc, k ? b : a);
		ck_assert_ptr_nonnull(it);
		ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(it, "audited")));
		ck_assert_str_eq(json_str(it, "error"), strerror(EPERM));
		ck_assert_str_eq(json_str(it, "netns_name"), k ? ns_b : ns_a);
	}
	it = namespace_entry(doc, self);
	ck_assert_ptr_nonnull(it);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "audited")));
	cJSON_Delete(doc);
}
END_TEST

/*
 * Unprivileged --pid of a process in another namespace: nobody's own
 * process in a user and network namespace of its own (unshare -rn).  Its
 * namespace can be opened but not entered: status 3, the PID, the
 * namespace and why.  Skipped where user namespaces are off.
 */
START_TEST(test_pid_unprivileged)
{
	const char *const argv[] = { "setpriv", "--reuid=65534", "--regid=65534",
				     "--clear-groups", "unshare", "-rn", "sleep",
				     "30", NULL };
	struct run_result r;
	char pid_s[16], path[64], want[64];
	struct stat st;
	pid_t self = getpid(), pid;
	bool moved = false;
	int status = 0;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != self)
			_exit(127);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	for (int i = 0; i < 200 && !moved; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		moved = stat(path, &st) == 0 && (uint32_t)st.st_ino != self_ino();
		if (!moved)
			sleep_ms(10);
	}
	if (!moved) {
		fprintf(stderr, "test_pid_unprivileged: skipped, `unshare -rn` as "
			"nobody failed (user namespaces off?)\n");
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return;
	}
	snprintf(pid_s, sizeof(pid_s), "%d", (int)pid);
	run_sockaudit_as_nobody(&r, (const char *const[]){ "--pid", pid_s, NULL });
	snprintf(want, sizeof(want), "PID %d: cannot enter its network namespace %u",
		 (int)pid, (unsigned)st.st_ino);
	expect_cannot_run(&r, want, strerror(EPERM));
	run_result_free(&r);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}
END_TEST

/* setns made to fail through a shim: entering (status 3, "cannot
 * enter"), and coming back, which is fatal (status 3, nothing printed
 * from the wrong namespace). */
START_TEST(test_setns_failures)
{
	static char preload[600], asan[600], call[48], err[48];
	const char *env[5] = { preload, asan, call, err, NULL };
	const char *dir = test_env_dir("TEST_SHIMS", "build/tests/shim");
	const char *old = getenv("ASAN_OPTIONS");
	struct run_result r;
	cJSON *doc;
	const cJSON *it;
	int skipped = 0;

	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s/fail_setns.so", dir);
	ck_assert_msg(access(preload + strlen("LD_PRELOAD="), R_OK) == 0,
		      "no shim at %s", preload + strlen("LD_PRELOAD="));
	snprintf(asan, sizeof(asan), "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
		 old ? old : "", old && *old ? ":" : "");

	/* Coming back fails. */
	snprintf(call, sizeof(call), "SHIM_SETNS_FAIL_CALL=2");
	snprintf(err, sizeof(err), "SHIM_SETNS_ERRNO=%d", EINVAL);
	run_sockaudit(&r, env, "--netns", ns_a, NULL);
	expect_cannot_run(&r, "returning to the original network namespace",
			  strerror(EINVAL));
	run_result_free(&r);

	/* Entering fails. */
	snprintf(call, sizeof(call), "SHIM_SETNS_FAIL_CALL=1");
	snprintf(err, sizeof(err), "SHIM_SETNS_ERRNO=%d", EPERM);
	run_sockaudit(&r, env, "-j", "--netns", ns_a, NULL);
	/* Refused to root: the missing capability is named, not "run as
	 * root". */
	expect_cannot_run(&r, "cannot enter network namespace", "needs CAP_SYS_ADMIN");
	ck_assert_msg(!strstr(r.err, "run as root"), "%s", r.err);
	run_result_free(&r);

	/* --all-netns: the one namespace it could not enter is left out,
	 * with a warning; the rest is reported. */
	run_sockaudit(&r, env, "-j", "--all-netns", NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	ck_assert_msg(count_lines_containing(r.err, "1 of ") == 1 &&
		      count_lines_containing(r.err, "network namespaces not audited") == 1,
		      "%s", r.err);
	doc = json_report(&r);
	run_result_free(&r);
	cJSON_ArrayForEach(it, json_array(doc, "namespaces"))
		skipped += cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(it, "audited"));
	ck_assert_int_eq(skipped, 1);
	cJSON_Delete(doc);
}
END_TEST

static Suite *netns_suite(void)
{
	Suite *s = suite_create("netns");
	TCase *tc = tcase_create("real");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, NULL, scenario_cleanup_all);
	tcase_add_test(tc, test_pid_in_namespace);
	tcase_add_loop_test(tc, test_netns_forms, 0, 9);
	tcase_add_test(tc, test_all_netns);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_netns_errors, 0,
			    (int)(sizeof(error_rows) / sizeof(error_rows[0])));
	tcase_add_test(tc, test_all_netns_unprivileged);
	tcase_add_test(tc, test_pid_unprivileged);
	tcase_add_test(tc, test_setns_failures);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	const char *why = NULL;
	int failed;
	bool leaked;

	if (!nstest_available(&why)) {
		fprintf(stderr, "test_netns: skipped, %s\n", why);
		return 0;
	}
	snprintf(ns_a, sizeof(ns_a), "sa7-a-%d", (int)getpid());
	snprintf(ns_b, sizeof(ns_b), "sa7-b-%d", (int)getpid());
	if (nstest_create(ns_a) || nstest_create(ns_b)) {
		fprintf(stderr, "test_netns: cannot make the test namespaces\n");
		nstest_delete_all();
		return 1;
	}
	failed = run_suite(netns_suite());

	/* Nothing left behind. */
	nstest_delete_all();
	leaked = nstest_listed(ns_a) || nstest_listed(ns_b);
	if (leaked)
		fprintf(stderr, "test_netns: namespaces %s, %s still listed\n", ns_a, ns_b);
	return failed || leaked;
}
