/*
 * Differential tests against ss(8).
 *
 * test_same_as_ss: for the TCP sockets the scenarios create, sockaudit
 * (with each source) and ss must see the same sockets: state,
 * endpoints, inode, uid, receive queue (send queue but for listeners,
 * where the sources differ by design) and owners (pid, fd).  Only the
 * scenarios' ports are compared: the host has other traffic.
 *
 * test_kinds_whole_host: every TCP, UDP and UNIX socket of the host,
 * `sockaudit -t -u -x -j` against `ss -tanpe`, `ss -uanpe` and
 * `ss -xanpeO` read before and after it: a socket ss saw unchanged in
 * both readings must be in the report with the same inode, state,
 * ends, queues and owners; the report may hold a few sockets that came
 * and went in between (tests/progs/kinds_helper keeps UDP and UNIX
 * sockets of every sort open meanwhile).
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <limits.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/http.h"
#include "lib/keyset.h"
#include "lib/scenario.h"
#include "lib/testlib.h"
#include "lib/runsuite.h"

#define NSCEN 8
/* The canonical text of one socket. */
static void make_key(char *key, const char *state, const char *laddr, int lport,
		     const char *raddr, int rport, unsigned long inode,
		     unsigned long uid, unsigned long rq, long sq,
		     long (*owners)[2], int nowners)
{
	size_t len;

	qsort(owners, (size_t)nowners, sizeof(*owners), keyset_owner_cmp);
	len = (size_t)snprintf(key, KEY_LEN, "%s %s:%d %s:%d ino=%lu uid=%lu rq=%lu sq=%ld owners=",
			       state, laddr, lport, raddr, rport, inode, uid, rq, sq);
	for (int i = 0; i < nowners && len < KEY_LEN; i++)
		len += (size_t)snprintf(key + len, KEY_LEN - len, "%ld/%ld,",
					owners[i][0], owners[i][1]);
}

/* A socket on one of the scenarios' ports.  TIME-WAIT sockets are
 * never the scenarios': one left by an earlier test may name a port
 * reused since, and expire between the two readings. */
static bool port_of_interest(const char *state, const int *ports, int n, int lport,
			     int rport)
{
	if (!strcmp(state, "time_wait"))
		return false;
	for (int i = 0; i < n; i++)
		if (ports[i] == lport || ports[i] == rport)
			return true;
	return false;
}

static void keys_from_report(const cJSON *doc, const int *ports, int nports,
			     bool owned_only, struct keyset *ks)
{
	const cJSON *s, *p;

	cJSON_ArrayForEach(s, json_array(doc, "sockets")) {
		long owners[16][2];
		int n = 0;
		char key[KEY_LEN];
		const char *state = json_str(s, "state");

		if (json_has_flag(s, "dead"))
			continue; /* the kernel does not dump those */
		if (!port_of_interest(state, ports, nports, (int)json_int(s, "local_port"),
				      (int)json_int(s, "remote_port")))
			continue;
		cJSON_ArrayForEach(p, json_array(s, "processes")) {
			if (n >= 16)
				ck_abort_msg("more than 16 owners");
			owners[n][0] = (long)json_int(p, "pid");
			owners[n][1] = (long)json_int(p, "fd");
			n++;
		}
		if (owned_only && n == 0)
			continue;
		make_key(key, state, json_str(s, "local_address"),
			 (int)json_int(s, "local_port"), json_str(s, "remote_address"),
			 (int)json_int(s, "remote_port"),
			 (unsigned long)json_int(s, "inode"),
			 (unsigned long)json_int(s, "uid"),
			 (unsigned long)json_int(s, "recv_q"),
			 strcmp(state, "listen") ? (long)json_int(s, "send_q") : -1,
			 owners, n);
		keyset_add(ks, key);
	}
}

static void keys_from_ss(const struct ss_entry *e, int n, const int *ports,
			 int nports, bool owned_only, struct keyset *ks)
{
	for (int i = 0; i < n; i++) {
		long owners[SS_MAX_USERS][2];
		char key[KEY_LEN];

		if (!port_of_interest(e[i].state, ports, nports, e[i].lport, e[i].rport))
			continue;
		if (owned_only && e[i].nusers == 0)
			continue;
		for (int j = 0; j < e[i].nusers; j++) {
			owners[j][0] = e[i].pids[j];
			owners[j][1] = e[i].fds[j];
		}
		make_key(key, e[i].state, e[i].laddr, e[i].lport, e[i].raddr,
			 e[i].rport, e[i].inode, e[i].uid, e[i].recv_q,
			 strcmp(e[i].state, "listen") ? (long)e[i].send_q : -1,
			 owners, e[i].nusers);
		keyset_add(ks, key);
	}
}

/* Sort and drop duplicates. */
static const char *const sources[] = { "netlink", "proc", "bpf" };

START_TEST(test_same_as_ss)
{
	const char *source = sources[_i];
	struct scenario sc[NSCEN];
	/* CLOSE-WAIT with unread data; IPv4-mapped server sockets and a
	 * client socket created by another user (as root only); a big dump
	 * with an accept queue. */
	static const struct {
		enum scen_kind kind;
		int family;
		const char *tag;
		struct scen_opts o;
	} plan[NSCEN] = {
		{ SCEN_IDLE, AF_INET, "oidle", { .client_uid = -1 } },
		{ SCEN_IDLE, AF_INET6, "oidle6", { .client_uid = -1 } },
		{ SCEN_CLOSE_WAIT, AF_INET, "ocw", { .client_uid = -1 } },
		{ SCEN_STALLED, AF_INET, "ostal", { .client_uid = -1 } },
		{ SCEN_SHARED, AF_INET, "oshar", { .client_uid = -1 } },
		{ SCEN_CLOSE_WAIT, AF_INET, "ocwd", { .client_uid = -1, .close_wait_bytes = 100 } },
		{ SCEN_IDLE, AF_INET6, "omap", { .v4mapped = true, .client_uid = 65534 } },
		{ SCEN_IDLE, AF_INET6, "omany",
		  { .client_uid = -1, .extra_conns = 400, .pending_conns = 5 } },
	};
	int ports[NSCEN], n;
	struct keyset got = { 0 }, want = { 0 }, got_owned = { 0 }, want_owned = { 0 };
	char portlist[NSCEN * 8] = "", pidlist[NSCEN * 3 * 12] = "", filter[NSCEN * 48] = "";
	char what[64];
	size_t pl = 0, dl = 0, fl = 0;
	struct ss_entry *e;

	/* A build or kernel without BPF: test_bpf says so. */
	if (!strcmp(source, "bpf") && strcmp(auto_source(), "bpf"))
		return;
	for (int i = 0; i < NSCEN; i++) {
		struct scen_opts o = plan[i].o;

		if (geteuid() != 0)
			o.client_uid = -1;
		scenario_start_opts(&sc[i], plan[i].kind, plan[i].family, plan[i].tag, &o);
		ports[i] = sc[i].port;
		pl += (size_t)snprintf(portlist + pl, sizeof(portlist) - pl, "%s%d",
				       i ? "," : "", ports[i]);
		fl += (size_t)snprintf(filter + fl, sizeof(filter) - fl,
				       "%ssport = :%d or dport = :%d", i ? " or " : "( ",
				       ports[i], ports[i]);
		for (int k = 0; k < PROC_COUNT; k++)
			if (sc[i].pids[k] > 0)
				dl += (size_t)snprintf(pidlist + dl, sizeof(pidlist) - dl, "%s%d",
						       dl ? "," : "", (int)sc[i].pids[k]);
	}
	snprintf(filter + fl, sizeof(filter) - fl, " )");

	/* Every socket of the scenarios' ports: those whose local port is
	 * one of them, and those whose remote port is (selected in the
	 * kernel with netlink); then the scenarios' processes' sockets
	 * (the whole dump, joined to their descriptors). */
	{
		const char *const runs[3][2] = { { "--port", portlist },
						 { "--remote-port", portlist },
						 { "--pid", pidlist } };

		for (int k = 0; k < 3; k++) {
			struct run_result r;
			cJSON *doc;

			run_sockaudit(&r, NULL, "-j", "--source", source, runs[k][0],
				      runs[k][1], NULL);
			ck_assert_msg(r.status == 0, "%s", run_describe(&r));
			doc = json_report(&r);
			run_result_free(&r);
			ck_assert_str_eq(json_str(doc, "source"), source);
			json_check_report_shape(doc);
			keys_from_report(doc, ports, NSCEN, k == 2, k == 2 ? &got_owned : &got);
			cJSON_Delete(doc);
		}
	}

	/* ss filters by port in the kernel too: fast on a busy host. */
	n = ss_dump((const char *const[]){ filter, NULL }, &e);
	ck_assert_msg(n >= 0, "ss -tanpeH '%s' failed", filter);
	keys_from_ss(e, n, ports, NSCEN, false, &want);
	keys_from_ss(e, n, ports, NSCEN, true, &want_owned);
	free(e);

	/* A listener and two ends each: the comparison is not vacuous. */
	ck_assert_int_ge(want.n, 3 * NSCEN);
	snprintf(what, sizeof(what), "--source %s --port/--remote-port", source);
	keyset_expect_same(&got, &want, what);
	snprintf(what, sizeof(what), "--source %s --pid", source);
	keyset_expect_same(&got_owned, &want_owned, what);
	for (int i = 0; i < NSCEN; i++)
		scenario_stop(&sc[i]);
}
END_TEST

/* ---- every kind, the whole host ---- */

/* A socket's owners as text: "pid/fd,..." sorted, or "many" from
 * SS_MAX_USERS on (ss's entries keep no more). */
static void owners_text(long (*owners)[2], int n, char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	if (n >= SS_MAX_USERS) {
		snprintf(out, size, "many");
		return;
	}
	qsort(owners, (size_t)n, sizeof(*owners), keyset_owner_cmp);
	for (int i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(out + len, size - len, "%ld/%ld,", owners[i][0],
					owners[i][1]);
}

/* A UNIX name both sides can print: none, or printable ASCII without
 * spaces (ss prints names raw, one word each). */
static bool plain_name(const char *p)
{
	for (; p && *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return false;
	return true;
}

/* ss's Netid of a UNIX socket type. */
static const char *unix_netid(const char *type)
{
	return !strcmp(type, "stream") ? "u_str" : !strcmp(type, "dgram") ? "u_dgr" : "u_seq";
}

/*
 * The key of a socket of the report; false for one ss cannot list (a
 * dead socket, a UNIX name that is not one word).  With the proc
 * source a UNIX socket has no peer and no queues: left out of its key.
 */
static bool report_key(const cJSON *s, bool proc, char *key)
{
	const char *proto = json_str(s, "protocol"), *state = json_str(s, "state");
	long owners[64][2];
	char own[KEY_LEN / 2];
	const cJSON *p;
	int n = 0;

	if (json_has_flag(s, "dead"))
		return false;
	cJSON_ArrayForEach(p, json_array(s, "processes")) {
		if (n < 64) {
			owners[n][0] = (long)json_int(p, "pid");
			owners[n][1] = (long)json_int(p, "fd");
		}
		n++;
	}
	owners_text(owners, n < 64 ? n : SS_MAX_USERS, own, sizeof(own));
	if (!strcmp(proto, "unix")) {
		const char *path = json_is_null(s, "path") ? "*" : json_str(s, "path");

		if (!plain_name(path))
			return false;
		if (proc)
			snprintf(key, KEY_LEN, "%s %s ino=%lld %s owners=%s",
				 unix_netid(json_str(s, "type")), state, json_int(s, "inode"),
				 path, own);
		else
			snprintf(key, KEY_LEN, "%s %s ino=%lld %s peer=%lld rq=%lld sq=%lld owners=%s",
				 unix_netid(json_str(s, "type")), state, json_int(s, "inode"), path,
				 json_is_null(s, "peer_inode") ? 0 : json_int(s, "peer_inode"),
				 json_int(s, "recv_q"), json_int(s, "send_q"), own);
		return true;
	}
	snprintf(key, KEY_LEN, "%s %s %s:%lld %s:%lld ino=%lld uid=%lld rq=%lld sq=%lld owners=%s",
		 proto, state, json_str(s, "local_address"), json_int(s, "local_port"),
		 json_str(s, "remote_address"), json_int(s, "remote_port"), json_int(s, "inode"),
		 json_int(s, "uid"), json_int(s, "recv_q"),
		 strcmp(state, "listen") ? json_int(s, "send_q") : -1, own);
	return true;
}

/* How long one reading of ss may take: on a host busy with tens of
 * thousands of sockets (make check's test_bigdump beside us) `ss -p`
 * took 8 s; a bound against a hang, not on speed. */
#define SS_READ_MS 120000

/* The keys of one `ss -tanpeH` or `ss -uanpeH` reading. */
static void ss_inet_keys(const char *proto, struct keyset *ks)
{
	const char *argv[] = { "ss", !strcmp(proto, "tcp") ? "-tanpeH" : "-uanpeH", NULL };
	struct run_result r;
	char *line, *save = NULL;

	ck_assert_int_eq(run_cmd(argv, NULL, SS_READ_MS, &r), 0);
	ck_assert_msg(r.status == 0, "ss %s: %s", argv[1], run_describe(&r));
	for (line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		long owners[SS_MAX_USERS][2];
		char key[KEY_LEN], own[KEY_LEN / 2];
		const char *state;
		struct ss_entry e;

		if (ss_parse_line(line, &e))
			continue;
		/* ss's UNCONN is a UDP socket's "unconnected". */
		state = !strcmp(proto, "udp") && !strcmp(e.state, "close") ? "unconnected" :
									      e.state;
		for (int j = 0; j < e.nusers; j++) {
			owners[j][0] = e.pids[j];
			owners[j][1] = e.fds[j];
		}
		owners_text(owners, e.nusers, own, sizeof(own));
		snprintf(key, sizeof(key),
			 "%s %s %s:%d %s:%d ino=%lu uid=%lu rq=%lu sq=%ld owners=%s", proto,
			 state, e.laddr, e.lport, e.raddr, e.rport, e.inode, e.uid, e.recv_q,
			 strcmp(state, "listen") ? (long)e.send_q : -1, own);
		keyset_add(ks, key);
	}
	run_result_free(&r);
}

/* The (pid, fd) pairs of ss's users:((...)) in line; how many. */
static int ss_users(const char *line, long (*owners)[2])
{
	const char *p = strstr(line, "users:((");
	int n = 0;

	while (p && (p = strstr(p, ",pid=")) != NULL) {
		long pid, fd;

		if (sscanf(p, ",pid=%ld,fd=%ld", &pid, &fd) == 2 && n < SS_MAX_USERS) {
			owners[n][0] = pid;
			owners[n][1] = fd;
		}
		n++;
		p += 5;
	}
	return n < SS_MAX_USERS ? n : SS_MAX_USERS;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* The keys of one `ss -xanpeOH` reading: "Netid State Recv-Q Send-Q
 * Local Inode Peer PeerInode ...", lines whose names are not one word
 * left out (as report_key does). */
static void ss_unix_keys(bool proc, struct keyset *ks)
{
	const char *argv[] = { "ss", "-xanpeOH", NULL };
	struct run_result r;
	char *line, *save = NULL;

	ck_assert_int_eq(run_cmd(argv, NULL, SS_READ_MS, &r), 0);
	ck_assert_msg(r.status == 0, "ss -xanpeOH: %s", run_describe(&r));
	for (line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char copy[4096], *w[8], *t, *ws = NULL, key[KEY_LEN], own[KEY_LEN / 2];
		long owners[SS_MAX_USERS][2];
		const char *state;
		int n = 0;

		snprintf(copy, sizeof(copy), "%s", line);
		for (t = strtok_r(copy, " \t", &ws); t && n < 8; t = strtok_r(NULL, " \t", &ws))
			w[n++] = t;
		if (n < 8 || !all_digits(w[5]) || !all_digits(w[7]) || !plain_name(w[4]))
			continue;
		state = !strcmp(w[1], "ESTAB") ? "established" :
			!strcmp(w[1], "LISTEN") ? "listen" :
			!strcmp(w[1], "UNCONN") ? "unconnected" : w[1];
		owners_text(owners, ss_users(line, owners), own, sizeof(own));
		if (proc)
			snprintf(key, sizeof(key), "%s %s ino=%s %s owners=%s", w[0], state, w[5],
				 w[4], own);
		else
			snprintf(key, sizeof(key), "%s %s ino=%s %s peer=%s rq=%s sq=%s owners=%s",
				 w[0], state, w[5], w[4], w[7], w[2], w[3], own);
		keyset_add(ks, key);
	}
	run_result_free(&r);
}

/* Under valgrind a whole host's TCP sockets (10,000 beside make check's
 * big dump) outlast any bound: there only UDP and UNIX are read here
 * (test_same_as_ss covers TCP under valgrind). */
static bool under_valgrind(void)
{
	const char *p = getenv("SOCKAUDIT");

	return getenv("VALGRIND_LOGS") || (p && strstr(p, "valgrind"));
}

/* One reading of ss, per kind (0 tcp, 1 udp, 2 unix). */
static void ss_reading(bool proc, struct keyset ks[3])
{
	if (!under_valgrind())
		ss_inet_keys("tcp", &ks[0]);
	ss_inet_keys("udp", &ks[1]);
	ss_unix_keys(proc, &ks[2]);
}

START_TEST(test_kinds_whole_host)
{
	static const char *const kinds[3] = { "tcp", "udp", "unix" };
	const char *source = sources[_i];
	bool proc = !strcmp(source, "proc");
	struct keyset before[3] = { { 0 } }, after[3] = { { 0 } }, got[3] = { { 0 } };
	char dir[] = "/tmp/sockaudit-oracle-XXXXXX", path[PATH_MAX], line[128];
	struct bg_proc helper;
	struct run_result r;
	const cJSON *s;
	cJSON *doc;

	if (!strcmp(source, "bpf") && strcmp(auto_source(), "bpf"))
		return;
	/* UDP and UNIX sockets of every sort, some with queued data. */
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/kinds_helper",
		 test_env_dir("TEST_PROGS", "build/tests/progs"));
	ck_assert_int_eq(bg_start(&helper, (const char *const[]){ path, dir, NULL }, true), 0);
	ck_assert_msg(bg_read_line(&helper, line, sizeof(line), 10000) == 0 &&
			      !strncmp(line, "ready ", 6),
		      "kinds_helper did not start: %s", bg_stderr(&helper));

	ss_reading(proc, before);
	/* A whole host's audit under valgrind beside a big dump: the
	 * same bound as ss's. */
	ck_assert_int_eq(run_cmd((const char *const[]){ sockaudit_path(),
							under_valgrind() ? "-u" : "-t", "-u", "-x",
							"-j", "--source", source, NULL },
				 NULL, SS_READ_MS, &r), 0);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	doc = json_report(&r);
	run_result_free(&r);
	ss_reading(proc, after);
	ck_assert_str_eq(json_str(doc, "source"), source);
	json_check_report_shape(doc);
	cJSON_ArrayForEach(s, json_array(doc, "sockets")) {
		const char *proto = json_str(s, "protocol");
		char key[KEY_LEN];
		int k = !strcmp(proto, "tcp") ? 0 : !strcmp(proto, "udp") ? 1 : 2;

		if (report_key(s, proc, key))
			keyset_add(&got[k], key);
	}
	cJSON_Delete(doc);
	for (int k = under_valgrind() ? 1 : 0; k < 3; k++) {
		char what[64];
		size_t all = before[k].n + after[k].n;

		snprintf(what, sizeof(what), "--source %s, %s, whole host", source, kinds[k]);
		/* Sockets that came and went: a few, and a twentieth of a
		 * busy host's. */
		keyset_expect_stable(&got[k], &before[k], &after[k], 20 + all / 40, what);
	}
	bg_stop(&helper, SIGKILL, 5000);
	bg_free(&helper);
	snprintf(path, sizeof(path), "%s/srv.sock", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/file", dir);
	unlink(path);
	rmdir(dir);
}
END_TEST

static Suite *oracle_suite(void)
{
	Suite *s = suite_create("oracle");
	TCase *tc = tcase_create("ss");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, NULL, scenario_cleanup_all);
	tcase_add_loop_test(tc, test_same_as_ss, 0, 3);
	suite_add_tcase(s, tc);
	/* Three readings of a whole host's sockets each, six of ss: on a
	 * busy host a minute or more (see SS_READ_MS). */
	tc = tcase_create("kinds");
	tcase_set_timeout(tc, 900);
	tcase_add_loop_test(tc, test_kinds_whole_host, 0, 3);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(oracle_suite());
}
