/*
 * Real sockets: leak reproducers on loopback (tests/lib/scenario.c), and
 * what `sockaudit -j` says about them, checked against what the
 * processes themselves know (fstat inode, getsockname, pid, fd) and the
 * contract (flags, groups, totals, exit statuses).
 */
#include <arpa/inet.h>
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/scenario.h"
#include "lib/testlib.h"
#include "lib/runsuite.h"

/* Sleep past the 1 s idle threshold used throughout. */
#define PAST_IDLE_MS 1250

/* ---- assertions on one socket ---- */

/*
 * The report lists the scenario socket `ss` exactly once, with the given
 * state, the endpoints the process saw, our uid, `nowners` owners among
 * which ss->pid on ss->fd named `comm`, and exactly the flags in the
 * NULL-terminated list `flags`.  Returns the socket object.
 */
static const cJSON *expect_sock(const cJSON *doc, const struct scen_sock *ss,
				const char *state, const char *comm,
				int nowners, const char *const flags[])
{
	const cJSON *s, *p;
	int nflags = 0;

	ck_assert_ptr_nonnull(ss);
	s = json_socket_by_inode(doc, ss->inode);
	ck_assert_msg(s != NULL, "socket inode %lu (%s:%d, pid %d fd %d) not reported",
		      ss->inode, ss->laddr, ss->lport, (int)ss->pid, ss->fd);
	ck_assert_int_eq(json_count_inode(doc, ss->inode), 1);
	ck_assert_str_eq(json_str(s, "family"),
			 ss->family == AF_INET ? "inet" : "inet6");
	ck_assert_str_eq(json_str(s, "state"), state);
	ck_assert_str_eq(json_str(s, "local_address"), ss->laddr);
	ck_assert_int_eq(json_int(s, "local_port"), ss->lport);
	if (ss->raddr[0]) {
		ck_assert_str_eq(json_str(s, "remote_address"), ss->raddr);
		ck_assert_int_eq(json_int(s, "remote_port"), ss->rport);
	} else { /* a listener: the wildcard */
		ck_assert_str_eq(json_str(s, "remote_address"),
				 ss->family == AF_INET ? "0.0.0.0" : "::");
		ck_assert_int_eq(json_int(s, "remote_port"), 0);
	}
	ck_assert_int_eq(json_int(s, "uid"), ss->uid);
	ck_assert_int_eq(cJSON_GetArraySize(json_array(s, "processes")), nowners);
	p = json_socket_process(s, ss->pid);
	ck_assert_msg(p != NULL, "pid %d missing from the owners of inode %lu",
		      (int)ss->pid, ss->inode);
	ck_assert_int_eq(json_int(p, "fd"), ss->fd);
	ck_assert_str_eq(json_str(p, "comm"), comm);
	for (; flags && flags[nflags]; nflags++)
		ck_assert_msg(json_has_flag(s, flags[nflags]),
			      "inode %lu (%s) lacks flag %s", ss->inode, state,
			      flags[nflags]);
	ck_assert_msg(json_flag_count(s) == nflags,
		      "inode %lu (%s) has %d flags, expected %d", ss->inode,
		      state, json_flag_count(s), nflags);
	return s;
}

/* The group's processes are exactly pids[0..n-1], in ascending order,
 * with their comms. */
static void expect_group_procs(const cJSON *g, const pid_t *pids,
			       const char *const *comms, int n)
{
	const cJSON *arr = json_array(g, "processes");
	int i = 0;
	const cJSON *p;

	ck_assert_int_eq(cJSON_GetArraySize(arr), n);
	cJSON_ArrayForEach(p, arr) {
		ck_assert_int_eq(json_int(p, "pid"), pids[i]);
		ck_assert_str_eq(json_str(p, "comm"), comms[i]);
		i++;
	}
}

static void expect_counts(const cJSON *obj, long long sockets,
			  long long close_wait, long long idle,
			  long long stalled, long long dead)
{
	ck_assert_int_eq(json_int(obj, "sockets"), sockets);
	ck_assert_int_eq(json_int(obj, "close_wait"), close_wait);
	ck_assert_int_eq(json_int(obj, "idle"), idle);
	ck_assert_int_eq(json_int(obj, "stalled"), stalled);
	ck_assert_int_eq(json_int(obj, "dead"), dead);
}

/* Run sockaudit -j with args, expect status 0 and a well-formed report
 * with nothing on stderr (we run as root, every owner is visible) but,
 * with --source proc, the one note that tcp_info is missing. */
static cJSON *audit_json(const char *const args[])
{
	struct run_result r;
	bool proc = false;
	cJSON *doc;

	for (int i = 0; args[i]; i++)
		if (!strcmp(args[i], "--source") && args[i + 1] &&
		    !strcmp(args[i + 1], "proc"))
			proc = true;
	run_sockaudit_v(&r, NULL, args);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	if (proc)
		ck_assert_msg(count_lines(r.err) <= 1 &&
			      all_lines_start_with(r.err, "sockaudit: "),
			      "more than the tcp_info note on stderr: %s",
			      run_describe(&r));
	else if (geteuid() == 0)
		ck_assert_msg(r.err_len == 0, "stderr not empty: %s", run_describe(&r));
	doc = json_report(&r);
	run_result_free(&r);
	json_check_report_shape(doc);
	return doc;
}

static const char *pid_list(pid_t a, pid_t b)
{
	static char buf[64];

	if (b)
		snprintf(buf, sizeof(buf), "%d,%d", (int)a, (int)b);
	else
		snprintf(buf, sizeof(buf), "%d", (int)a);
	return buf;
}

/* Whether s contains the whole decimal number v (not as part of a longer
 * number). */
static bool has_number(const char *s, long v)
{
	for (const char *p = s; *p; p++) {
		if (isdigit((unsigned char)*p) && (p == s || !isdigit((unsigned char)p[-1]))) {
			char *end;
			long n = strtol(p, &end, 10);

			if (n == v)
				return true;
			p = end - 1;
		}
	}
	return false;
}

/* ss's view of the sockets on one port (either end); ss filters in the
 * kernel, so this stays quick on a host with many sockets. */
static int ss_dump_port(int port, struct ss_entry **e)
{
	char filter[96];

	snprintf(filter, sizeof(filter), "( sport = :%d or dport = :%d )", port, port);
	return ss_dump((const char *const[]){ filter, NULL }, e);
}

/* ---- the idle server and its client ---- */

START_TEST(test_idle_server_and_client)
{
	static const char *const none[] = { NULL };
	static const char *const idle[] = { "idle", NULL };
	struct scenario sc;
	const struct scen_sock *lis, *srv, *cli;
	const cJSON *g;
	cJSON *doc;
	pid_t S, C;
	long long t0;

	t0 = test_now_ms();
	scenario_start(&sc, SCEN_IDLE, AF_INET, "idle4");
	S = sc.pids[PROC_SERVER];
	C = sc.pids[PROC_CLIENT];
	lis = scenario_sock(&sc, ROLE_LISTENER);
	srv = scenario_sock(&sc, ROLE_SERVER_CONN);
	cli = scenario_sock(&sc, ROLE_CLIENT_CONN);
	ck_assert(lis && srv && cli);

	/* Fresh: nothing is idle yet.  (Unless this run was so slow, e.g.
	 * under valgrind, that a second passed since the sockets were
	 * created: then it cannot be told.) */
	{
		const char *args[] = { "-j", "--idle", "1s", "--pid", pid_list(S, C), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(json_int(doc, "idle_threshold_ms"), 1000);
		ck_assert_str_eq(json_str(doc, "source"), auto_source());
		if (test_now_ms() - t0 < 1000) {
			expect_sock(doc, lis, "listen", sc.comms[PROC_SERVER], 1, none);
			expect_sock(doc, srv, "established", sc.comms[PROC_SERVER], 1, none);
			expect_sock(doc, cli, "established", sc.comms[PROC_CLIENT], 1, none);
			expect_counts(json_object(doc, "totals"), 3, 0, 0, 0, 0);
		}
		cJSON_Delete(doc);
	}

	sleep_ms(PAST_IDLE_MS);
	{
		const char *args[] = { "-j", "--idle", "1s", "--pid", pid_list(S, C), NULL };
		const cJSON *s;

		doc = audit_json(args);
		expect_sock(doc, lis, "listen", sc.comms[PROC_SERVER], 1, none);
		s = expect_sock(doc, srv, "established", sc.comms[PROC_SERVER], 1, idle);
		ck_assert_int_ge(json_int(s, "idle_ms"), 1000);
		ck_assert_int_eq(json_int(s, "recv_q"), 0);
		s = expect_sock(doc, cli, "established", sc.comms[PROC_CLIENT], 1, idle);
		ck_assert_int_ge(json_int(s, "idle_ms"), 1000);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 3);
		expect_counts(json_object(doc, "totals"), 3, 0, 2, 0, 0);

		/* Server side: the listener and the accepted socket, grouped
		 * by the local port. */
		g = json_group_server(doc, sc.port);
		ck_assert_msg(g != NULL, "no server group for port %d", sc.port);
		expect_counts(g, 2, 0, 1, 0, 0);
		ck_assert_int_eq(json_group_state(g, "listen"), 1);
		ck_assert_int_eq(json_group_state(g, "established"), 1);
		expect_group_procs(g, &S, (const char *const[]){ sc.comms[PROC_SERVER] }, 1);

		/* Client side: grouped by the peer. */
		g = json_group_client(doc, "127.0.0.1", sc.port);
		ck_assert_msg(g != NULL, "no client group for 127.0.0.1:%d", sc.port);
		expect_counts(g, 1, 0, 1, 0, 0);
		ck_assert_int_eq(json_group_state(g, "established"), 1);
		expect_group_procs(g, &C, (const char *const[]){ sc.comms[PROC_CLIENT] }, 1);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "groups")), 2);
		cJSON_Delete(doc);
	}

	/* --flag idle keeps only the two connections; a higher threshold
	 * none. */
	{
		const char *args[] = { "-j", "-i", "1000ms", "-F", "idle", "-p",
				       pid_list(S, C), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 2);
		ck_assert_ptr_nonnull(json_socket_by_inode(doc, srv->inode));
		ck_assert_ptr_nonnull(json_socket_by_inode(doc, cli->inode));
		cJSON_Delete(doc);
	}
	{
		const char *args[] = { "-j", "-i", "1m", "-F", "idle", "-p",
				       pid_list(S, C), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(json_int(doc, "idle_threshold_ms"), 60000);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 0);
		expect_counts(json_object(doc, "totals"), 0, 0, 0, 0, 0);
		cJSON_Delete(doc);
	}
	/* --port selects by local port: the server's two sockets only;
	 * --remote-port the client's. */
	{
		const char *args[] = { "-j", "--idle", "1s", "--port", itoa_tmp(sc.port), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 2);
		expect_sock(doc, lis, "listen", sc.comms[PROC_SERVER], 1, none);
		expect_sock(doc, srv, "established", sc.comms[PROC_SERVER], 1, idle);
		cJSON_Delete(doc);
	}
	{
		const char *args[] = { "-j", "--idle", "1s", "-r", itoa_tmp(sc.port),
				       "-s", "established", NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 1);
		expect_sock(doc, cli, "established", sc.comms[PROC_CLIENT], 1, idle);
		cJSON_Delete(doc);
	}
	scenario_stop(&sc);
}
END_TEST

/* ---- -4 / -6 ---- */

START_TEST(test_families)
{
	static const char *const none[] = { NULL };
	struct scenario v6, v4;
	const struct scen_sock *lis, *srv, *cli;
	const cJSON *g;
	cJSON *doc;

	scenario_start(&v6, SCEN_IDLE, AF_INET6, "idle6");
	scenario_start(&v4, SCEN_IDLE, AF_INET, "fam4");
	lis = scenario_sock(&v6, ROLE_LISTENER);
	srv = scenario_sock(&v6, ROLE_SERVER_CONN);
	cli = scenario_sock(&v6, ROLE_CLIENT_CONN);
	ck_assert(lis && srv && cli);
	ck_assert_str_eq(lis->laddr, "::1");

	{
		const char *args[] = { "-j", "-6", "--port", itoa_tmp(v6.port), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 2);
		expect_sock(doc, lis, "listen", v6.comms[PROC_SERVER], 1, none);
		expect_sock(doc, srv, "established", v6.comms[PROC_SERVER], 1, none);
		g = json_group_server(doc, v6.port);
		ck_assert_ptr_nonnull(g);
		ck_assert_int_eq(json_int(g, "sockets"), 2);
		cJSON_Delete(doc);
	}
	{
		const char *args[] = { "-j", "-6", "--pid", itoa_tmp(v6.pids[PROC_CLIENT]), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 1);
		expect_sock(doc, cli, "established", v6.comms[PROC_CLIENT], 1, none);
		g = json_group_client(doc, "::1", v6.port);
		ck_assert_msg(g != NULL, "no client group for [::1]:%d", v6.port);
		ck_assert_int_eq(json_int(g, "sockets"), 1);
		cJSON_Delete(doc);
	}
	/* The other family selects nothing of either scenario. */
	{
		const char *args[] = { "-j", "-4", "--pid",
				       pid_list(v6.pids[PROC_SERVER], v6.pids[PROC_CLIENT]), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 0);
		ck_assert_int_eq(json_int(json_object(doc, "totals"), "sockets"), 0);
		cJSON_Delete(doc);
	}
	{
		const char *args[] = { "-j", "-6", "--pid",
				       pid_list(v4.pids[PROC_SERVER], v4.pids[PROC_CLIENT]), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 0);
		cJSON_Delete(doc);
	}
	{
		const char *args[] = { "-j", "-4", "--pid",
				       pid_list(v4.pids[PROC_SERVER], v4.pids[PROC_CLIENT]), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 3);
		expect_sock(doc, scenario_sock(&v4, ROLE_LISTENER), "listen",
			    v4.comms[PROC_SERVER], 1, none);
		cJSON_Delete(doc);
	}
	/* Both families: the union. */
	{
		char pids[96];
		const char *args[] = { "-j", "--pid", pids, NULL };

		snprintf(pids, sizeof(pids), "%d,%d,%d,%d", (int)v6.pids[PROC_SERVER],
			 (int)v6.pids[PROC_CLIENT], (int)v4.pids[PROC_SERVER],
			 (int)v4.pids[PROC_CLIENT]);
		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 6);
		cJSON_Delete(doc);
	}
	scenario_stop(&v6);
	scenario_stop(&v4);
}
END_TEST

/* ---- CLOSE-WAIT ---- */

START_TEST(test_close_wait_client)
{
	static const char *const cw[] = { "close_wait", NULL };
	struct scenario sc;
	const struct scen_sock *cli, *lis;
	const cJSON *g, *s;
	cJSON *doc;
	pid_t C;

	scenario_start(&sc, SCEN_CLOSE_WAIT, AF_INET, "cw");
	C = sc.pids[PROC_CLIENT];
	cli = scenario_sock(&sc, ROLE_CLIENT_CONN);
	lis = scenario_sock(&sc, ROLE_LISTENER);
	ck_assert(cli && lis);

	{
		const char *args[] = { "-j", "--idle", "1s", "--pid", itoa_tmp(C), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 1);
		expect_sock(doc, cli, "close_wait", sc.comms[PROC_CLIENT], 1, cw);
		expect_counts(json_object(doc, "totals"), 1, 1, 0, 0, 0);
		g = json_group_client(doc, "127.0.0.1", sc.port);
		ck_assert_msg(g != NULL, "no client group for 127.0.0.1:%d", sc.port);
		expect_counts(g, 1, 1, 0, 0, 0);
		ck_assert_int_eq(json_group_state(g, "close_wait"), 1);
		expect_group_procs(g, &C, (const char *const[]){ sc.comms[PROC_CLIENT] }, 1);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "groups")), 1);
		cJSON_Delete(doc);
	}
	/* The server's side: the listener and the orphaned FIN-WAIT-2 end
	 * (no owner), in one server group. */
	{
		const char *args[] = { "-j", "--port", itoa_tmp(sc.port), NULL };

		doc = audit_json(args);
		expect_sock(doc, lis, "listen", sc.comms[PROC_SERVER], 1, NULL);
		s = json_socket_by_ports(doc, sc.port, cli->lport);
		ck_assert_msg(s != NULL, "the server's end 127.0.0.1:%d -> %d is missing",
			      sc.port, cli->lport);
		ck_assert_str_eq(json_str(s, "state"), "fin_wait_2");
		ck_assert_int_eq(cJSON_GetArraySize(json_array(s, "processes")), 0);
		ck_assert_int_eq(json_flag_count(s), 0);
		g = json_group_server(doc, sc.port);
		ck_assert_ptr_nonnull(g);
		ck_assert_int_eq(json_int(g, "sockets"),
				 cJSON_GetArraySize(json_array(doc, "sockets")));
		ck_assert_int_eq(json_group_state(g, "fin_wait_2"), 1);
		ck_assert_int_eq(json_group_state(g, "listen"), 1);
		cJSON_Delete(doc);
	}
	/* Other ways to select it: by flag, by state (ss spelling), by
	 * remote port. */
	{
		const char *args[] = { "-j", "-F", "close_wait", "-s", "CLOSE-WAIT",
				       "-r", itoa_tmp(sc.port), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 1);
		expect_sock(doc, cli, "close_wait", sc.comms[PROC_CLIENT], 1, cw);
		cJSON_Delete(doc);
	}
	/* In CLOSE-WAIT the unread FIN counts as one byte of recv_q: that
	 * is not unread data, so not "stalled" even past the threshold. */
	sleep_ms(PAST_IDLE_MS);
	{
		const char *args[] = { "-j", "--idle", "1s", "--pid", itoa_tmp(C), NULL };

		doc = audit_json(args);
		s = expect_sock(doc, cli, "close_wait", sc.comms[PROC_CLIENT], 1, cw);
		ck_assert_int_le(json_int(s, "recv_q"), 1);
		ck_assert_int_ge(json_int(s, "last_recv_ms"), 1000);
		cJSON_Delete(doc);
	}
	scenario_stop(&sc);
}
END_TEST

/* ---- --max ---- */

START_TEST(test_max_assertion)
{
	struct scenario sc;
	const struct scen_sock *cli;
	struct run_result r;
	cJSON *doc, *a;
	char port[16], owner[40];

	scenario_start(&sc, SCEN_CLOSE_WAIT, AF_INET, "max");
	cli = scenario_sock(&sc, ROLE_CLIENT_CONN);
	ck_assert_ptr_nonnull(cli);
	snprintf(port, sizeof(port), "%d", cli->lport);

	/* The leak is there: status 1, the report still printed, stderr
	 * says by how much. */
	run_sockaudit(&r, NULL, "--port", port, "--state", "close_wait", "--max", "0", NULL);
	ck_assert_msg(r.status == 1, "%s", run_describe(&r));
	snprintf(owner, sizeof(owner), "%s[%d]", sc.comms[PROC_CLIENT],
		 (int)sc.pids[PROC_CLIENT]);
	ck_assert_msg(strstr(r.out, owner) != NULL, "report without %s: %s",
		      owner, run_describe(&r));
	ck_assert_msg(!strncmp(r.err, "sockaudit: ", 11), "%s", run_describe(&r));
	ck_assert_msg(all_lines_start_with(r.err, "sockaudit: "), "%s", run_describe(&r));
	ck_assert_msg(has_number(r.err, 1), "stderr does not give the count: %s",
		      run_describe(&r));
	run_result_free(&r);

	run_sockaudit(&r, NULL, "-j", "--port", port, "--state", "close_wait", "--max", "0", NULL);
	ck_assert_msg(r.status == 1, "%s", run_describe(&r));
	doc = json_report(&r);
	json_check_report_shape(doc);
	a = json_object(doc, "assertion");
	ck_assert_int_eq(json_int(a, "max"), 0);
	ck_assert_int_eq(json_int(a, "selected"), 1);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(a, "ok")));
	ck_assert_ptr_nonnull(json_socket_by_inode(doc, cli->inode));
	cJSON_Delete(doc);
	run_result_free(&r);

	/* One allowed: holds. */
	run_sockaudit(&r, NULL, "-j", "--port", port, "--state", "close_wait", "--max", "1", NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	doc = json_report(&r);
	a = json_object(doc, "assertion");
	ck_assert_int_eq(json_int(a, "max"), 1);
	ck_assert_int_eq(json_int(a, "selected"), 1);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "ok")));
	cJSON_Delete(doc);
	run_result_free(&r);

	/* Without --max there is no assertion object. */
	run_sockaudit(&r, NULL, "-j", "--port", port, NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	doc = json_report(&r);
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(doc, "assertion"));
	cJSON_Delete(doc);
	run_result_free(&r);

	/* The leaking client is gone, and its socket with it. */
	scenario_kill(&sc, PROC_CLIENT);
	run_sockaudit(&r, NULL, "--port", port, "--state", "close_wait", "--max", "0", NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	ck_assert_msg(r.err_len == 0, "%s", run_describe(&r));
	run_result_free(&r);
	run_sockaudit(&r, NULL, "-j", "--port", port, "--state", "close_wait", "--max", "0", NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	doc = json_report(&r);
	a = json_object(doc, "assertion");
	ck_assert_int_eq(json_int(a, "selected"), 0);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "ok")));
	cJSON_Delete(doc);
	run_result_free(&r);
	/* Whatever is left of the connection on that port, it is not the
	 * client's socket. */
	{
		const char *args[] = { "-j", "--port", port, NULL };

		doc = audit_json(args);
		ck_assert_ptr_null(json_socket_by_inode(doc, cli->inode));
		ck_assert_int_eq(json_int(json_object(doc, "totals"), "close_wait"), 0);
		cJSON_Delete(doc);
	}
	scenario_stop(&sc);
}
END_TEST

/* ---- a client that stopped reading ---- */

START_TEST(test_stalled_client)
{
	static const char *const stalled_idle[] = { "stalled", "idle", NULL };
	struct scenario sc;
	const struct scen_sock *cli, *srv;
	struct ss_entry *e;
	const cJSON *s, *g;
	cJSON *doc;
	pid_t C, S;
	int n, i;

	scenario_start(&sc, SCEN_STALLED, AF_INET, "stall");
	S = sc.pids[PROC_SERVER];
	C = sc.pids[PROC_CLIENT];
	cli = scenario_sock(&sc, ROLE_CLIENT_CONN);
	srv = scenario_sock(&sc, ROLE_SERVER_CONN);
	ck_assert(cli && srv);
	ck_assert_int_gt(srv->written, 0);

	sleep_ms(PAST_IDLE_MS);
	{
		const char *args[] = { "-j", "--idle", "1s", "--pid", pid_list(S, C), NULL };
		long long rq, sq;

		doc = audit_json(args);
		/* Nothing was sent by the client, nothing received for more
		 * than 1 s: idle too. */
		s = expect_sock(doc, cli, "established", sc.comms[PROC_CLIENT], 1, stalled_idle);
		rq = json_int(s, "recv_q");
		ck_assert_int_gt(rq, 0);
		ck_assert_int_ge(json_int(s, "last_recv_ms"), 1000);
		s = json_socket_by_inode(doc, srv->inode);
		ck_assert_ptr_nonnull(s);
		ck_assert(!json_has_flag(s, "stalled"));
		ck_assert_int_eq(json_int(s, "recv_q"), 0);
		sq = json_int(s, "send_q");
		ck_assert_int_gt(sq, 0);
		/* Whatever the server wrote is in one of the two queues. */
		ck_assert_int_eq(rq + sq, srv->written);
		ck_assert_int_eq(json_int(json_object(doc, "totals"), "stalled"), 1);
		g = json_group_client(doc, "127.0.0.1", sc.port);
		ck_assert_ptr_nonnull(g);
		ck_assert_int_eq(json_int(g, "stalled"), 1);
		g = json_group_server(doc, sc.port);
		ck_assert_ptr_nonnull(g);
		ck_assert_int_eq(json_int(g, "stalled"), 0);

		/* The queues are what the kernel says (ss). */
		n = ss_dump_port(sc.port, &e);
		ck_assert_int_ge(n, 0);
		for (i = 0; i < n; i++) {
			if (e[i].inode == cli->inode)
				ck_assert_int_eq(e[i].recv_q, rq);
			if (e[i].inode == srv->inode)
				ck_assert_int_eq(e[i].send_q, sq);
		}
		free(e);
		cJSON_Delete(doc);
	}
	{
		const char *args[] = { "-j", "--idle", "1s", "-F", "stalled", "--pid",
				       pid_list(S, C), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 1);
		ck_assert_ptr_nonnull(json_socket_by_inode(doc, cli->inode));
		cJSON_Delete(doc);
	}
	scenario_stop(&sc);
}
END_TEST

/* ---- a descriptor whose connection was reset ---- */

START_TEST(test_dead_after_reset)
{
	static const char *const dead[] = { "dead", NULL };
	struct scenario sc;
	const struct scen_sock *cli;
	const cJSON *s, *p, *g;
	cJSON *doc;
	pid_t C;
	struct ss_entry *e;
	int n;

	scenario_start(&sc, SCEN_RESET, AF_INET, "reset");
	C = sc.pids[PROC_CLIENT];
	cli = scenario_sock(&sc, ROLE_CLIENT_CONN);
	ck_assert_ptr_nonnull(cli);

	/* The kernel no longer dumps it. */
	n = ss_dump_port(sc.port, &e);
	ck_assert_int_ge(n, 0);
	for (int i = 0; i < n; i++)
		ck_assert_msg(e[i].inode != cli->inode, "ss still lists inode %lu",
			      cli->inode);
	free(e);

	/* Every source: bpf (auto, as root) tells a dead socket from the
	 * iterator's record of its descriptor, the others from /proc. */
	const char *sources[] = { "netlink", "proc", auto_source() };

	for (size_t src = 0; src < sizeof(sources) / sizeof(sources[0]); src++) {
		const char *args[] = { "-j", "--idle", "1s", "--source",
				       sources[src], "--pid", itoa_tmp(C), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 1);
		s = json_socket_by_inode(doc, cli->inode);
		ck_assert_msg(s != NULL, "the dead descriptor (inode %lu) is not reported",
			      cli->inode);
		ck_assert_str_eq(json_str(s, "state"), "close");
		ck_assert_str_eq(json_str(s, "family"), "inet");
		ck_assert_int_eq(json_int(s, "uid"), cli->uid);
		ck_assert(json_has_flag(s, dead[0]));
		ck_assert_int_eq(json_flag_count(s), 1);
		ck_assert(json_is_null(s, "remote_address"));
		ck_assert(json_is_null(s, "remote_port"));
		/* The port was released: not local_port, but the last one
		 * when it can be read, else null. */
		ck_assert(json_is_null(s, "local_port"));
		ck_assert(json_is_null(s, "local_address"));
		if (json_is_null(s, "last_local_port")) {
			ck_assert(json_is_null(s, "last_local_address"));
		} else {
			ck_assert_int_eq(json_int(s, "last_local_port"), cli->lport);
			ck_assert_str_eq(json_str(s, "last_local_address"), cli->laddr);
		}
		ck_assert_int_eq(cJSON_GetArraySize(json_array(s, "processes")), 1);
		p = json_socket_process(s, C);
		ck_assert_ptr_nonnull(p);
		ck_assert_int_eq(json_int(p, "fd"), cli->fd);
		ck_assert_str_eq(json_str(p, "comm"), sc.comms[PROC_CLIENT]);

		expect_counts(json_object(doc, "totals"), 1, 0, 0, 0, 1);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "groups")), 1);
		g = json_group_process(doc, C);
		ck_assert_msg(g != NULL, "no process group for pid %d", (int)C);
		expect_counts(g, 1, 0, 0, 0, 1);
		ck_assert_int_eq(json_group_state(g, "close"), 1);
		expect_group_procs(g, &C, (const char *const[]){ sc.comms[PROC_CLIENT] }, 1);
		cJSON_Delete(doc);
	}
	/* Selections apply to it: state close and flag dead select it,
	 * another state or family does not. */
	{
		const char *args[] = { "-j", "-s", "close", "-F", "dead", "-4", "--pid",
				       itoa_tmp(C), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 1);
		cJSON_Delete(doc);
	}
	{
		const char *args[] = { "-j", "-s", "established", "--pid", itoa_tmp(C), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 0);
		cJSON_Delete(doc);
	}
	{
		const char *args[] = { "-j", "-6", "--pid", itoa_tmp(C), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 0);
		cJSON_Delete(doc);
	}
	scenario_stop(&sc);
}
END_TEST

/* A listener of our own on ADDR:PORT (IPv4); its descriptor. */
static int listen_on(const char *addr, int port, unsigned long *inode)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct stat st;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	ck_assert_msg(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0,
		      "the dead socket's port %s:%d is not free: %s", addr, port,
		      strerror(errno));
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	*inode = (unsigned long)st.st_ino;
	return fd;
}

/*
 * The kernel released a reset socket's port, and another socket took it:
 * --port selects the live one only, and the dead one shows the port as
 * its last (JSON last_local_port, "(released)" in the table), never as
 * held.  With every source.
 */
START_TEST(test_dead_port_taken)
{
	const char *sources[] = { "netlink", "proc", auto_source() };
	struct scenario sc;
	const struct scen_sock *cli;
	unsigned long lis_inode;
	char port[16];
	int lis;
	pid_t C;

	scenario_start(&sc, SCEN_RESET, AF_INET, "reset");
	C = sc.pids[PROC_CLIENT];
	cli = scenario_sock(&sc, ROLE_CLIENT_CONN);
	ck_assert_ptr_nonnull(cli);
	ck_assert_msg(cli->lport_after == cli->lport,
		      "getsockname after the reset says port %d, not %d",
		      cli->lport_after, cli->lport);
	lis = listen_on(cli->laddr, cli->lport, &lis_inode);
	snprintf(port, sizeof(port), "%d", cli->lport);

	for (size_t k = 0; k < sizeof(sources) / sizeof(sources[0]); k++) {
		const char *sel[] = { "-j", "--source", sources[k], "--port", port, NULL };
		const char *all[] = { "-j", "--source", sources[k], "--pid", itoa_tmp(C), NULL };
		const cJSON *s;
		struct run_result r;
		cJSON *doc;

		doc = audit_json(sel);
		ck_assert_msg(json_socket_by_inode(doc, cli->inode) == NULL,
			      "%s: --port %s selects the dead socket", sources[k], port);
		s = json_socket_by_inode(doc, lis_inode);
		ck_assert_msg(s != NULL, "%s: --port %s misses the listener", sources[k], port);
		ck_assert_int_eq(json_int(s, "local_port"), cli->lport);
		cJSON_Delete(doc);

		doc = audit_json(all);
		s = json_socket_by_inode(doc, cli->inode);
		ck_assert_msg(s != NULL, "%s: the dead socket is not reported", sources[k]);
		ck_assert(json_is_null(s, "local_port"));
		ck_assert(json_is_null(s, "local_address"));
		/* The last port when it could be read (not under valgrind,
		 * which has no pidfd_getfd), never as held. */
		if (!json_is_null(s, "last_local_port")) {
			ck_assert_int_eq(json_int(s, "last_local_port"), cli->lport);
			ck_assert_str_eq(json_str(s, "last_local_address"), cli->laddr);
		}
		cJSON_Delete(doc);

		run_sockaudit(&r, NULL, "-l", "--source", sources[k], "--pid", itoa_tmp(C),
			      NULL);
		ck_assert_msg(r.status == 0, "%s", run_describe(&r));
		ck_assert_msg(strstr(r.out, " (released)") != NULL ||
			      strstr(r.out, port) == NULL,
			      "%s: the table does not mark %s as released: %s", sources[k],
			      port, r.out);
		run_result_free(&r);
	}
	close(lis);
	scenario_stop(&sc);
}
END_TEST

/* ---- one socket, two processes ---- */

START_TEST(test_shared_socket)
{
	struct scenario sc;
	const struct scen_sock *lis, *srv;
	const cJSON *s, *g;
	cJSON *doc;
	pid_t S, S2, pids[2];
	const char *comms[2];
	int round;

	scenario_start(&sc, SCEN_SHARED, AF_INET, "shared");
	S = sc.pids[PROC_SERVER];
	S2 = sc.pids[PROC_SERVER2];
	ck_assert_int_gt(S2, 0);
	lis = scenario_sock(&sc, ROLE_LISTENER);
	srv = scenario_sock(&sc, ROLE_SERVER_CONN);
	ck_assert(lis && srv);
	pids[0] = S < S2 ? S : S2;
	pids[1] = S < S2 ? S2 : S;
	comms[0] = sc.comms[pids[0] == S ? PROC_SERVER : PROC_SERVER2];
	comms[1] = sc.comms[pids[1] == S ? PROC_SERVER : PROC_SERVER2];

	for (round = 0; round < 2; round++) {
		const char *byport[] = { "-j", "--port", itoa_tmp(sc.port), NULL };
		const char *bypid[] = { "-j", "--pid", pid_list(S, S2), NULL };

		doc = audit_json(round ? bypid : byport);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 2);
		/* Each listed once, with both owners on the same fd. */
		expect_sock(doc, lis, "listen", sc.comms[PROC_SERVER], 2, NULL);
		s = expect_sock(doc, srv, "established", sc.comms[PROC_SERVER], 2, NULL);
		ck_assert_ptr_nonnull(json_socket_process(s, S2));
		ck_assert_int_eq(json_int(json_socket_process(s, S2), "fd"), srv->fd);
		ck_assert_str_eq(json_str(json_socket_process(s, S2), "comm"),
				 sc.comms[PROC_SERVER2]);
		s = json_socket_by_inode(doc, lis->inode);
		ck_assert_int_eq(json_int(json_socket_process(s, S2), "fd"), lis->fd);
		expect_counts(json_object(doc, "totals"), 2, 0, 0, 0, 0);

		g = json_group_server(doc, sc.port);
		ck_assert_ptr_nonnull(g);
		ck_assert_int_eq(json_int(g, "sockets"), 2);
		expect_group_procs(g, pids, comms, 2);
		cJSON_Delete(doc);
	}

	/* When one holder exits, the socket stays with the other. */
	scenario_kill(&sc, PROC_SERVER2);
	{
		const char *args[] = { "-j", "--port", itoa_tmp(sc.port), "-s", "established", NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 1);
		s = json_socket_by_inode(doc, srv->inode);
		ck_assert_ptr_nonnull(s);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(s, "processes")), 1);
		ck_assert_ptr_nonnull(json_socket_process(s, S));
		cJSON_Delete(doc);
	}
	scenario_stop(&sc);
}
END_TEST

/* ---- IPv4-mapped IPv6 ---- */

START_TEST(test_v4_mapped)
{
	static const char *const none[] = { NULL };
	struct scen_opts o = { .v4mapped = true, .client_uid = -1 };
	struct scenario sc;
	const struct scen_sock *lis, *srv, *cli;
	const cJSON *g;
	cJSON *doc;

	scenario_start_opts(&sc, SCEN_IDLE, AF_INET6, "mapped", &o);
	lis = scenario_sock(&sc, ROLE_LISTENER);
	srv = scenario_sock(&sc, ROLE_SERVER_CONN);
	cli = scenario_sock(&sc, ROLE_CLIENT_CONN);
	ck_assert(lis && srv && cli);
	ck_assert_str_eq(srv->laddr, "::ffff:127.0.0.1");
	ck_assert_int_eq(cli->family, AF_INET);

	/* The server's sockets are inet6 with the mapped address as the
	 * kernel gives it, so -6 selects them and -4 does not. */
	{
		const char *args[] = { "-j", "-6", "--port", itoa_tmp(sc.port), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 2);
		expect_sock(doc, lis, "listen", sc.comms[PROC_SERVER], 1, none);
		expect_sock(doc, srv, "established", sc.comms[PROC_SERVER], 1, none);
		cJSON_Delete(doc);
	}
	{
		const char *args[] = { "-j", "-4", "--port", itoa_tmp(sc.port), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 0);
		cJSON_Delete(doc);
	}
	/* The client's is plain inet. */
	{
		const char *args[] = { "-j", "-4", "-r", itoa_tmp(sc.port), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 1);
		expect_sock(doc, cli, "established", sc.comms[PROC_CLIENT], 1, none);
		g = json_group_client(doc, "127.0.0.1", sc.port);
		ck_assert_ptr_nonnull(g);
		cJSON_Delete(doc);
	}
	scenario_stop(&sc);
}
END_TEST

/* ---- the socket's uid is its creator's, not ours ---- */

START_TEST(test_socket_uid)
{
	static const char *const none[] = { NULL };
	struct scen_opts o = { .v4mapped = false, .client_uid = 65534 };
	struct scenario sc;
	const struct scen_sock *cli;
	cJSON *doc;

	if (geteuid() != 0)
		return; /* needs root to create a socket as another user */
	scenario_start_opts(&sc, SCEN_IDLE, AF_INET, "uid", &o);
	cli = scenario_sock(&sc, ROLE_CLIENT_CONN);
	ck_assert_ptr_nonnull(cli);
	ck_assert_int_eq(cli->uid, 65534);
	for (int src = 0; src < 2; src++) {
		const char *args[] = { "-j", "--source", src ? "proc" : "netlink", "--pid",
				       itoa_tmp(sc.pids[PROC_CLIENT]), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 1);
		expect_sock(doc, cli, "established", sc.comms[PROC_CLIENT], 1, none);
		cJSON_Delete(doc);
	}
	scenario_stop(&sc);
}
END_TEST

/* ---- CLOSE-WAIT with unread data: stalled too ---- */

START_TEST(test_close_wait_unread_data)
{
	static const char *const cw_stalled[] = { "close_wait", "stalled", NULL };
	struct scen_opts o = { .client_uid = -1, .close_wait_bytes = 10 };
	struct scenario sc;
	const struct scen_sock *cli;
	struct ss_entry *e;
	const cJSON *s, *g;
	cJSON *doc;
	int n;

	scenario_start_opts(&sc, SCEN_CLOSE_WAIT, AF_INET, "cwdata", &o);
	cli = scenario_sock(&sc, ROLE_CLIENT_CONN);
	ck_assert_ptr_nonnull(cli);
	sleep_ms(PAST_IDLE_MS);
	{
		const char *args[] = { "-j", "--idle", "1s", "--pid",
				       itoa_tmp(sc.pids[PROC_CLIENT]), NULL };

		doc = audit_json(args);
		s = expect_sock(doc, cli, "close_wait", sc.comms[PROC_CLIENT], 1, cw_stalled);
		ck_assert_int_ge(json_int(s, "recv_q"), 10);
		n = ss_dump_port(sc.port, &e);
		ck_assert_int_ge(n, 0);
		for (int i = 0; i < n; i++)
			if (e[i].inode == cli->inode)
				ck_assert_int_eq(e[i].recv_q, json_int(s, "recv_q"));
		free(e);
		expect_counts(json_object(doc, "totals"), 1, 1, 0, 1, 0);
		g = json_group_client(doc, "127.0.0.1", sc.port);
		ck_assert_ptr_nonnull(g);
		expect_counts(g, 1, 1, 0, 1, 0);
		cJSON_Delete(doc);
	}
	scenario_stop(&sc);
}
END_TEST

/* ---- a dead descriptor held by two processes ---- */

START_TEST(test_dead_shared)
{
	struct scen_opts o = { .client_uid = -1, .client_fork = true };
	struct scenario sc;
	const struct scen_sock *cli;
	const cJSON *s, *g;
	cJSON *doc;
	pid_t C, C2, low;

	scenario_start_opts(&sc, SCEN_RESET, AF_INET, "dead2", &o);
	C = sc.pids[PROC_CLIENT];
	C2 = sc.pids[PROC_CLIENT2];
	ck_assert_int_gt(C2, 0);
	low = C < C2 ? C : C2;
	cli = scenario_sock(&sc, ROLE_CLIENT_CONN);
	ck_assert_ptr_nonnull(cli);
	{
		const char *args[] = { "-j", "--pid", pid_list(C, C2), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 1);
		ck_assert_int_eq(json_count_inode(doc, cli->inode), 1);
		s = json_socket_by_inode(doc, cli->inode);
		ck_assert_ptr_nonnull(s);
		ck_assert(json_has_flag(s, "dead"));
		ck_assert_int_eq(cJSON_GetArraySize(json_array(s, "processes")), 2);
		ck_assert_int_eq(json_int(json_socket_process(s, C), "fd"), cli->fd);
		ck_assert_int_eq(json_int(json_socket_process(s, C2), "fd"), cli->fd);
		/* One group, by the lowest PID, naming both. */
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "groups")), 1);
		g = json_group_process(doc, low);
		ck_assert_msg(g != NULL, "no process group for the lowest pid %d", (int)low);
		expect_counts(g, 1, 0, 0, 0, 1);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(g, "processes")), 2);
		ck_assert_ptr_nonnull(json_group_process_entry(g, C));
		ck_assert_ptr_nonnull(json_group_process_entry(g, C2));
		expect_counts(json_object(doc, "totals"), 1, 0, 0, 0, 1);
		cJSON_Delete(doc);
	}
	scenario_stop(&sc);
}
END_TEST

/* ---- which side: a listener on the port, or a port below the
 * ephemeral range ---- */

START_TEST(test_sides)
{
	struct scen_opts low = { .client_uid = -1, .close_listener = true, .low_port = true };
	struct scen_opts high = { .client_uid = -1, .close_listener = true };
	struct scenario lo, hi, v6, v4;
	const struct scen_sock *srv, *cli;
	const cJSON *g;
	cJSON *doc;

	/* No listener any more, but the port is below the ephemeral
	 * range: still server-side. */
	scenario_start_opts(&lo, SCEN_IDLE, AF_INET, "sidelo", &low);
	srv = scenario_sock(&lo, ROLE_SERVER_CONN);
	ck_assert_ptr_nonnull(srv);
	{
		const char *args[] = { "-j", "--pid", itoa_tmp(lo.pids[PROC_SERVER]), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 1);
		expect_sock(doc, srv, "established", lo.comms[PROC_SERVER], 1, NULL);
		g = json_group_server(doc, lo.port);
		ck_assert_msg(g != NULL, "port %d (below the ephemeral range, no listener) "
			      "is not server-side", lo.port);
		cJSON_Delete(doc);
	}
	/* No listener, an ephemeral port: client-side, by the peer. */
	scenario_start_opts(&hi, SCEN_IDLE, AF_INET, "sidehi", &high);
	srv = scenario_sock(&hi, ROLE_SERVER_CONN);
	ck_assert_ptr_nonnull(srv);
	{
		const char *args[] = { "-j", "--pid", itoa_tmp(hi.pids[PROC_SERVER]), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 1);
		ck_assert_ptr_null(json_group_server(doc, hi.port));
		g = json_group_client(doc, "127.0.0.1", srv->rport);
		ck_assert_msg(g != NULL, "port %d (ephemeral, no listener) is not client-side",
			      hi.port);
		ck_assert_int_eq(json_int(g, "sockets"), 1);
		cJSON_Delete(doc);
	}
	/* A listener on [::1]:P makes a 127.0.0.1:P socket server-side too,
	 * in the same group. */
	scenario_start(&v6, SCEN_IDLE, AF_INET6, "side6");
	{
		struct scen_opts bindp = { .client_uid = -1, .client_local_port = v6.port };

		scenario_start_opts(&v4, SCEN_IDLE, AF_INET, "side4", &bindp);
	}
	cli = scenario_sock(&v4, ROLE_CLIENT_CONN);
	ck_assert_ptr_nonnull(cli);
	ck_assert_int_eq(cli->lport, v6.port);
	{
		const char *args[] = { "-j", "--port", itoa_tmp(v6.port), NULL };
		pid_t pids[2];
		const char *comms[2];

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 3);
		expect_sock(doc, cli, "established", v4.comms[PROC_CLIENT], 1, NULL);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "groups")), 1);
		g = json_group_server(doc, v6.port);
		ck_assert_ptr_nonnull(g);
		ck_assert_int_eq(json_int(g, "sockets"), 3);
		ck_assert_int_eq(json_group_state(g, "listen"), 1);
		ck_assert_int_eq(json_group_state(g, "established"), 2);
		pids[0] = v6.pids[PROC_SERVER] < v4.pids[PROC_CLIENT] ? v6.pids[PROC_SERVER]
								       : v4.pids[PROC_CLIENT];
		pids[1] = pids[0] == v6.pids[PROC_SERVER] ? v4.pids[PROC_CLIENT]
							   : v6.pids[PROC_SERVER];
		comms[0] = pids[0] == v6.pids[PROC_SERVER] ? v6.comms[PROC_SERVER]
							    : v4.comms[PROC_CLIENT];
		comms[1] = pids[1] == v6.pids[PROC_SERVER] ? v6.comms[PROC_SERVER]
							    : v4.comms[PROC_CLIENT];
		expect_group_procs(g, pids, comms, 2);
		cJSON_Delete(doc);
	}
	/* The side does not depend on what else is selected: the listener
	 * counts even when the selection leaves it out (another family,
	 * another state, selected by the remote port). */
	{
		const char *pa = itoa_tmp(v6.port), *q = itoa_tmp(v4.port);
		const char *const variants[][10] = {
			{ "-j", "-4", "--port", pa, NULL },
			{ "-j", "-s", "established", "--port", pa, NULL },
			{ "-j", "-r", q, NULL },
			{ "-j", "-4", "-s", "established", "-r", q, NULL },
			{ "-j", "--pid", itoa_tmp(v4.pids[PROC_CLIENT]), NULL },
			{ "-j", "-4", "-F", "idle", "-i", "0", "--pid",
			  itoa_tmp(v4.pids[PROC_CLIENT]), NULL },
		};

		for (size_t k = 0; k < sizeof(variants) / sizeof(variants[0]); k++) {
			doc = audit_json(variants[k]);
			ck_assert_msg(json_socket_by_inode(doc, cli->inode) != NULL,
				      "variant %zu: the socket on port %s is not selected", k, pa);
			g = json_group_server(doc, v6.port);
			ck_assert_msg(g != NULL, "variant %zu: no server group for port %s "
				      "(listener only on [::1]:%s)", k, pa, pa);
			ck_assert_msg(json_group_client(doc, "127.0.0.1", v4.port) == NULL,
				      "variant %zu: 127.0.0.1:%s -> :%s grouped client-side",
				      k, pa, q);
			/* A live socket left out of the dump is not "dead". */
			ck_assert_int_eq(json_int(json_object(doc, "totals"), "dead"), 0);
			cJSON_Delete(doc);
		}
	}
	scenario_stop(&lo);
	scenario_stop(&hi);
	scenario_stop(&v6);
	scenario_stop(&v4);
}
END_TEST

/* ---- many sockets (a dump over several reads), an accept queue ---- */

START_TEST(test_many_and_accept_queue)
{
	enum { EXTRA = 300, PENDING = 3 };
	struct scen_opts o = { .client_uid = -1, .extra_conns = EXTRA,
			       .pending_conns = PENDING };
	struct scenario sc;
	const struct scen_sock *lis;
	const cJSON *s, *g;
	cJSON *doc;
	int unowned;

	scenario_start_opts(&sc, SCEN_IDLE, AF_INET, "many", &o);
	lis = scenario_sock(&sc, ROLE_LISTENER);
	ck_assert_ptr_nonnull(lis);

	/* The listener's recv_q is its accept queue, with either source. */
	for (int src = 0; src < 2; src++) {
		const char *args[] = { "-j", "--source", src ? "proc" : "netlink", "-s",
				       "listen", "--port", itoa_tmp(sc.port), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 1);
		s = expect_sock(doc, lis, "listen", sc.comms[PROC_SERVER], 1, NULL);
		ck_assert_int_eq(json_int(s, "recv_q"), PENDING);
		cJSON_Delete(doc);
	}
	/* Every socket of the port: the listener, 1 + EXTRA accepted, and
	 * PENDING not accepted yet (no owner). */
	for (int src = 0; src < 2; src++) {
		const char *args[] = { "-j", "--source", src ? "proc" : "netlink", "--port",
				       itoa_tmp(sc.port), NULL };
		const cJSON *it;

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")),
				 2 + EXTRA + PENDING);
		unowned = 0;
		cJSON_ArrayForEach(it, json_array(doc, "sockets"))
			unowned += cJSON_GetArraySize(json_array(it, "processes")) == 0;
		ck_assert_int_eq(unowned, PENDING);
		g = json_group_server(doc, sc.port);
		ck_assert_ptr_nonnull(g);
		ck_assert_int_eq(json_int(g, "sockets"), 2 + EXTRA + PENDING);
		ck_assert_int_eq(json_group_state(g, "established"), 1 + EXTRA + PENDING);
		cJSON_Delete(doc);
	}
	/* The client holds one end of each. */
	{
		const char *args[] = { "-j", "--pid", itoa_tmp(sc.pids[PROC_CLIENT]), NULL };
		const cJSON *it;

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")),
				 1 + EXTRA + PENDING);
		/* (No ck_assert in loops this long: each records a checkpoint.) */
		cJSON_ArrayForEach(it, json_array(doc, "sockets"))
			if (json_int(it, "remote_port") != sc.port ||
			    !json_socket_process(it, sc.pids[PROC_CLIENT]))
				ck_abort_msg("inode %lld: not the client's connection to %d",
					     json_int(it, "inode"), sc.port);
		g = json_group_client(doc, "127.0.0.1", sc.port);
		ck_assert_ptr_nonnull(g);
		ck_assert_int_eq(json_int(g, "sockets"), 1 + EXTRA + PENDING);
		cJSON_Delete(doc);
	}
	/* Narrower selections of the same process: exactly what they
	 * select, and none of the process's other (live) sockets taken
	 * for dead ones. */
	{
		const struct scen_sock *cli = scenario_sock(&sc, ROLE_CLIENT_CONN);
		const char *pid = itoa_tmp(sc.pids[PROC_CLIENT]);
		/* The last variant audits the whole host: other sockets may
		 * have the same local port (another connection's ephemeral
		 * port to another peer, a TIME-WAIT left by an earlier test),
		 * so only the client's own are counted there. */
		const struct {
			const char *args[10];
			int n;
			bool host;
		} v[] = {
			{ { "-j", "--pid", pid, "--port", itoa_tmp(cli->lport), NULL }, 1, false },
			{ { "-j", "--pid", pid, "-r", itoa_tmp(sc.port), "-s", "listen", NULL }, 0, false },
			{ { "-j", "--pid", pid, "-6", NULL }, 0, false },
			{ { "-j", "--pid", pid, "-F", "dead", NULL }, 0, false },
			{ { "-j", "--pid", pid, "-s", "close", NULL }, 0, false },
			{ { "-j", "--port", itoa_tmp(cli->lport), NULL }, 1, true },
		};

		for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
			const cJSON *it;
			int n = 0, dead = 0;

			doc = audit_json(v[k].args);
			cJSON_ArrayForEach(it, json_array(doc, "sockets")) {
				if (v[k].host && !json_socket_process(it, sc.pids[PROC_CLIENT]))
					continue;
				n++;
				dead += json_has_flag(it, "dead");
			}
			ck_assert_msg(n == v[k].n, "variant %zu: %d sockets, expected %d", k, n,
				      v[k].n);
			ck_assert_int_eq(dead, 0);
			if (v[k].n)
				expect_sock(doc, cli, "established", sc.comms[PROC_CLIENT], 1, NULL);
			cJSON_Delete(doc);
		}
	}
	scenario_stop(&sc);
}
END_TEST

/* ---- SYN-SENT: a connect to a listener whose accept queue is full ---- */

START_TEST(test_syn_sent)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	struct stat st;
	int l, c1, c2, port;
	const cJSON *s;
	cJSON *doc;

	/* Our own sockets, in this (forked) test process. */
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(l, 0), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &al), 0);
	port = ntohs(a.sin_port);
	/* The first connection fills the queue; the kernel drops the
	 * second one's SYN, which stays SYN-SENT (retried after 1 s). */
	c1 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(connect(c1, (struct sockaddr *)&a, sizeof(a)), 0);
	c2 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_eq(connect(c2, (struct sockaddr *)&a, sizeof(a)), -1);
	ck_assert_int_eq(errno, EINPROGRESS);
	ck_assert_int_eq(fstat(c2, &st), 0);
	sleep_ms(50);
	{
		const char *args[] = { "-j", "-s", "syn-sent", "--pid", itoa_tmp(getpid()), NULL };
		const cJSON *p;

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 1);
		s = json_socket_by_inode(doc, (unsigned long)st.st_ino);
		ck_assert_ptr_nonnull(s);
		ck_assert_str_eq(json_str(s, "state"), "syn_sent");
		/* A connection not set up yet has no meaningful times. */
		ck_assert(json_is_null(s, "idle_ms") && json_is_null(s, "last_recv_ms"));
		ck_assert_int_eq(json_int(s, "remote_port"), port);
		ck_assert_int_eq(json_flag_count(s), 0);
		p = json_socket_process(s, getpid());
		ck_assert_ptr_nonnull(p);
		ck_assert_int_eq(json_int(p, "fd"), c2);
		ck_assert_int_eq(json_group_state(json_group_client(doc, "127.0.0.1", port),
						  "syn_sent"), 1);
		cJSON_Delete(doc);
	}
	{
		const char *args[] = { "-j", "-s", "LISTEN", "--port", itoa_tmp(port), NULL };

		doc = audit_json(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 1);
		ck_assert_int_eq(json_int(json_array(doc, "sockets")->child, "recv_q"), 1);
		cJSON_Delete(doc);
	}
	close(c2);
	close(c1);
	close(l);
}
END_TEST

/* ---- the tables ---- */

static void expect_table(const char *const args[], const char *port,
			 const char *owner)
{
	struct run_result r;

	run_sockaudit_v(&r, NULL, args);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	ck_assert_msg(strstr(r.out, port) != NULL, "port %s not in the table: %s",
		      port, run_describe(&r));
	ck_assert_msg(strstr(r.out, owner) != NULL, "%s not in the table: %s",
		      owner, run_describe(&r));
	if (geteuid() == 0)
		ck_assert_msg(r.err_len == 0, "stderr not empty: %s", run_describe(&r));
	run_result_free(&r);
}

START_TEST(test_tables)
{
	struct scenario sc, cw;
	char port[16], srv[40], cli[40], cwcli[40];

	scenario_start(&sc, SCEN_IDLE, AF_INET, "tab");
	scenario_start(&cw, SCEN_CLOSE_WAIT, AF_INET, "tabcw");
	snprintf(port, sizeof(port), "%d", sc.port);
	snprintf(srv, sizeof(srv), "%s[%d]", sc.comms[PROC_SERVER], (int)sc.pids[PROC_SERVER]);
	snprintf(cli, sizeof(cli), "%s[%d]", sc.comms[PROC_CLIENT], (int)sc.pids[PROC_CLIENT]);
	snprintf(cwcli, sizeof(cwcli), "%s[%d]", cw.comms[PROC_CLIENT],
		 (int)cw.pids[PROC_CLIENT]);

	expect_table((const char *const[]){ "--port", port, NULL }, port, srv);
	expect_table((const char *const[]){ "--list", "--port", port, NULL }, port, srv);
	expect_table((const char *const[]){ "-l", "--pid", itoa_tmp(sc.pids[PROC_CLIENT]), NULL },
		     port, cli);
	expect_table((const char *const[]){ "-r", port, NULL }, port, cli);
	expect_table((const char *const[]){ "-l", "-s", "close-wait", "-r", itoa_tmp(cw.port), NULL },
		     itoa_tmp(cw.port), cwcli);
	expect_table((const char *const[]){ "-f", "table", "-s", "close-wait", "-r",
					    itoa_tmp(cw.port), NULL },
		     itoa_tmp(cw.port), cwcli);
	scenario_stop(&sc);
	scenario_stop(&cw);
}
END_TEST

/* Process names are untrusted: the table escapes them, JSON carries them
 * as valid UTF-8. */
START_TEST(test_hostile_comm)
{
	struct scenario sc;
	struct run_result r;
	char want[64];
	cJSON *doc;
	const cJSON *s;
	const char *args[] = { "-j", "--pid", NULL, NULL };

	/* ESC, newline, backslash and a byte that is not UTF-8. */
	scenario_start(&sc, SCEN_IDLE, AF_INET, "e\x1b\n\\\xff");
	ck_assert_str_eq(sc.comms[PROC_SERVER], "e\x1b\n\\\xff-srv");

	run_sockaudit(&r, NULL, "--list", "--pid", itoa_tmp(sc.pids[PROC_SERVER]), NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	snprintf(want, sizeof(want), "e\\x1b\\x0a\\\\\\xff-srv[%d]", (int)sc.pids[PROC_SERVER]);
	ck_assert_msg(strstr(r.out, want) != NULL, "%s not in the table: %s", want,
		      run_describe(&r));
	ck_assert_msg(strchr(r.out, '\x1b') == NULL, "raw ESC in the table");
	ck_assert_msg(strchr(r.out, '\xff') == NULL, "raw 0xff in the table");
	run_result_free(&r);

	args[2] = itoa_tmp(sc.pids[PROC_SERVER]);
	doc = audit_json(args);
	s = json_socket_by_inode(doc, scenario_sock(&sc, ROLE_LISTENER)->inode);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(json_str(json_socket_process(s, sc.pids[PROC_SERVER]), "comm"),
			 "e\x1b\n\\\xef\xbf\xbd-srv");
	cJSON_Delete(doc);
	scenario_stop(&sc);

	/* A C1 control (U+009B, a terminal CSI) is escaped as its two
	 * bytes; valid UTF-8 that is not a control is printed as is. */
	scenario_start(&sc, SCEN_IDLE, AF_INET, "c\xc2\x9b\xc3\xa9");
	run_sockaudit(&r, NULL, "--list", "--pid", itoa_tmp(sc.pids[PROC_SERVER]), NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	snprintf(want, sizeof(want), "c\\xc2\\x9b\xc3\xa9-srv[%d]", (int)sc.pids[PROC_SERVER]);
	ck_assert_msg(strstr(r.out, want) != NULL, "%s not in the table: %s", want,
		      run_describe(&r));
	ck_assert_msg(strstr(r.out, "\xc2\x9b") == NULL, "raw U+009B in the table");
	run_result_free(&r);
	args[2] = itoa_tmp(sc.pids[PROC_SERVER]);
	doc = audit_json(args);
	s = json_socket_by_inode(doc, scenario_sock(&sc, ROLE_LISTENER)->inode);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(json_str(json_socket_process(s, sc.pids[PROC_SERVER]), "comm"),
			 "c\xc2\x9b\xc3\xa9-srv");
	cJSON_Delete(doc);
	scenario_stop(&sc);
}
END_TEST

/* ---- live sockets opened during the scan are not dead ---- */

/*
 * Child: keep a pool of 64 loopback connections to its own listener and
 * replace them as fast as it can, for at most `secs` seconds.  Every
 * descriptor opened after sockaudit's dump is missing from the dump:
 * sockaudit must confirm before it calls one dead.
 */
static void churn(int ready_fd, int secs)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int pool[128], head = 0, n = 0, lis, failures = 0;
	long long end = test_now_ms() + secs * 1000LL;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lis = socket(AF_INET, SOCK_STREAM, 0);
	if (lis < 0 || bind(lis, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(lis, 128) < 0 || getsockname(lis, (struct sockaddr *)&a, &len) < 0)
		_exit(1);
	if (write(ready_fd, "1", 1) != 1)
		_exit(1);
	close(ready_fd);
	while (test_now_ms() < end) {
		int c = socket(AF_INET, SOCK_STREAM, 0), s = -1;

		/* A failure is retried (a busy host may refuse for a moment:
		 * ports, memory); 100 in a row end it with the errno as its
		 * status, which the test prints. */
		if (c >= 0 && connect(c, (struct sockaddr *)&a, sizeof(a)) == 0)
			s = accept(lis, NULL, NULL);
		if (s < 0) {
			int err = errno;

			if (c >= 0)
				close(c);
			if (++failures >= 100)
				_exit(err > 0 && err < 126 ? err : 125);
			sleep_ms(10);
			continue;
		}
		failures = 0;
		pool[(head + n++) % 128] = c;
		pool[(head + n++) % 128] = s;
		while (n > 64) {
			close(pool[head]);
			head = (head + 1) % 128;
			n--;
		}
	}
	_exit(0);
}

START_TEST(test_churn_not_dead)
{
	int p[2], run, wrongly_dead = 0, status = 0;
	char ok;
	pid_t child, gone;

	ck_assert_int_eq(pipe(p), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		close(p[0]);
		churn(p[1], 600); /* killed below, long before */
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &ok, 1), 1);
	close(p[0]);
	for (run = 0; run < 8; run++) {
		const char *args[] = { "-j", "-F", "dead", NULL };
		cJSON *doc = audit_json(args);
		const cJSON *s;

		cJSON_ArrayForEach(s, json_array(doc, "sockets"))
			if (json_socket_process(s, child))
				wrongly_dead++;
		cJSON_Delete(doc);
	}
	/* It churned through every run (else the runs tested nothing). */
	gone = waitpid(child, &status, WNOHANG);
	ck_assert_msg(gone == 0, "the churning process stopped early: %s",
		      gone < 0 ? strerror(errno) :
		      WIFEXITED(status) ? strerror(WEXITSTATUS(status)) : strsignal(WTERMSIG(status)));
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	ck_assert_msg(wrongly_dead == 0,
		      "%d live sockets of the churning process reported dead",
		      wrongly_dead);
}
END_TEST

static Suite *real_suite(void)
{
	Suite *s = suite_create("real sockets");
	TCase *tc = tcase_create("scenarios");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, NULL, scenario_cleanup_all);
	tcase_add_test(tc, test_idle_server_and_client);
	tcase_add_test(tc, test_families);
	tcase_add_test(tc, test_close_wait_client);
	tcase_add_test(tc, test_max_assertion);
	tcase_add_test(tc, test_stalled_client);
	tcase_add_test(tc, test_dead_after_reset);
	tcase_add_test(tc, test_dead_port_taken);
	tcase_add_test(tc, test_shared_socket);
	tcase_add_test(tc, test_v4_mapped);
	tcase_add_test(tc, test_socket_uid);
	tcase_add_test(tc, test_close_wait_unread_data);
	tcase_add_test(tc, test_dead_shared);
	tcase_add_test(tc, test_sides);
	tcase_add_test(tc, test_many_and_accept_queue);
	tcase_add_test(tc, test_syn_sent);
	tcase_add_test(tc, test_tables);
	tcase_add_test(tc, test_hostile_comm);
	tcase_add_test(tc, test_churn_not_dead);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(real_suite());
}
