/*
 * Differential test: for the sockets the scenarios create, sockaudit
 * (with either source) and ss(8) must see the same sockets: state,
 * endpoints, inode, uid, receive queue (send queue but for listeners,
 * where the sources differ by design) and owners (pid, fd).  Only the
 * scenarios' ports are compared: the host has other traffic.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/keyset.h"
#include "lib/scenario.h"
#include "lib/testlib.h"

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

static Suite *oracle_suite(void)
{
	Suite *s = suite_create("oracle");
	TCase *tc = tcase_create("ss");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, NULL, scenario_cleanup_all);
	tcase_add_loop_test(tc, test_same_as_ss, 0, 3);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(oracle_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
