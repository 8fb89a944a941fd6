/*
 * The BPF source (--source bpf): the same report as netlink's on real
 * sockets (every scenario kind, dead descriptors and times included),
 * the unprivileged behaviour (auto quietly on netlink, bpf exit 3), and
 * the record decoders fed records directly.  Loading the programs here
 * is the verifier test: on a kernel that rejects them, --source bpf
 * exits 3 and test_same_as_netlink fails.
 *
 * Skipped (with a note) when this build has no BPF programs or the
 * kernel cannot load them: the unprivileged and decoder tests still run.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bpf/records.h"
#include "fdscan_bpf.h"
#include "source_bpf.h"
#include "table.h"

#include "lib/keyset.h"
#include "lib/scenario.h"
#include "lib/testlib.h"
#include "lib/runsuite.h"

/* Past the 1 s idle threshold the runs use. */
#define PAST_IDLE_MS 1250
/* Slack on times between two runs, beyond the time between them: a
 * jiffy (up to 10 ms) and rounding. */
#define TIME_SLACK_MS 50

static bool bpf_usable(void)
{
	if (!strcmp(auto_source(), "bpf"))
		return true;
	fprintf(stderr, "test_bpf: BPF programs not built or not loadable here: skipped\n");
	return false;
}

/* obj[key] as a number, -1 when null (a dead socket has no queues). */
static long long num(const cJSON *obj, const char *key)
{
	return json_is_null(obj, key) ? -1 : json_int(obj, key);
}

/* One socket as text: everything but times and the idle flag, which
 * depend on when each run looked. */
static void socket_key(const cJSON *s, char *key, size_t len)
{
	const cJSON *p, *f;
	long owners[16][2];
	int n = 0;
	size_t off;

	cJSON_ArrayForEach(p, json_array(s, "processes")) {
		ck_assert_int_lt(n, 16);
		owners[n][0] = (long)json_int(p, "pid");
		owners[n][1] = (long)json_int(p, "fd");
		n++;
	}
	qsort(owners, (size_t)n, sizeof(owners[0]), keyset_owner_cmp);
	off = (size_t)snprintf(key, len, "%s %s %s:%lld", json_str(s, "state"),
			       json_str(s, "family"),
			       json_is_null(s, "local_address") ? "-" : json_str(s, "local_address"),
			       num(s, "local_port"));
	off += (size_t)snprintf(key + off, len - off, " %s:%lld ino=%lld uid=%lld q=%lld/%lld",
				json_is_null(s, "remote_address") ? "-" : json_str(s, "remote_address"),
				num(s, "remote_port"), num(s, "inode"), num(s, "uid"),
				num(s, "recv_q"), num(s, "send_q"));
	cJSON_ArrayForEach(f, json_array(s, "flags"))
		if (strcmp(f->valuestring, "idle") && off < len)
			off += (size_t)snprintf(key + off, len - off, " %s", f->valuestring);
	for (int i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(key + off, len - off, " %ld/%ld", owners[i][0],
					owners[i][1]);
}

/* The processes of a report as text: pid, comm, descriptor counts,
 * limit. */
static void process_keys(const cJSON *doc, struct keyset *ks)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, json_array(doc, "processes")) {
		char key[KEY_LEN];

		snprintf(key, sizeof(key), "%lld %s fds=%lld sockets=%lld limit=%lld",
			 json_int(p, "pid"), json_str(p, "comm"), json_int(p, "fds"),
			 json_int(p, "socket_fds"),
			 num(p, "fd_limit"));
		keyset_add(ks, key);
	}
}

static cJSON *audit(const char *source, const char *pids)
{
	struct run_result r;
	cJSON *doc;

	run_sockaudit(&r, NULL, "-j", "--idle", "1s", "--source", source, "--pid", pids,
		      NULL);
	ck_assert_msg(r.status == 0, "--source %s: %s", source, run_describe(&r));
	ck_assert_msg(r.err_len == 0, "--source %s: %s", source, run_describe(&r));
	doc = json_report(&r);
	run_result_free(&r);
	json_check_report_shape(doc);
	ck_assert_str_eq(json_str(doc, "source"), source);
	return doc;
}

/* Each socket's times in `b` (bpf, taken first) are those of `n`
 * (netlink, taken `gap_ms` at most later) within the gap: both null or
 * both numbers. */
static void expect_same_times(const cJSON *b, const cJSON *n, long long gap_ms)
{
	const cJSON *s;
	static const char *const keys[] = { "last_recv_ms", "last_send_ms" };

	cJSON_ArrayForEach(s, json_array(b, "sockets")) {
		const cJSON *o;

		if (json_int(s, "inode") == 0)
			continue;
		o = json_socket_by_inode(n, (unsigned long)json_int(s, "inode"));
		ck_assert_ptr_nonnull(o);
		for (int k = 0; k < 2; k++) {
			long long tb, tn;

			ck_assert_msg(json_is_null(s, keys[k]) == json_is_null(o, keys[k]),
				      "inode %lld: %s null with one source only",
				      json_int(s, "inode"), keys[k]);
			if (json_is_null(s, keys[k]))
				continue;
			tb = json_int(s, keys[k]);
			tn = json_int(o, keys[k]);
			ck_assert_msg(tn >= tb - TIME_SLACK_MS && tn <= tb + gap_ms + TIME_SLACK_MS,
				      "inode %lld: %s bpf %lld netlink %lld (runs %lld ms apart)",
				      json_int(s, "inode"), keys[k], tb, tn, gap_ms);
		}
	}
}

#define NSCEN 7

/*
 * Every scenario kind, in both families and with a shared socket, a
 * dead one (reset) and an accept queue: --source bpf and --source
 * netlink give the same sockets, owners, flags, processes and (within
 * the time between the runs) the same times.
 */
START_TEST(test_same_as_netlink)
{
	static const struct {
		enum scen_kind kind;
		int family;
		const char *tag;
		struct scen_opts o;
	} plan[NSCEN] = {
		{ SCEN_IDLE, AF_INET, "bidle", { .client_uid = -1 } },
		{ SCEN_IDLE, AF_INET6, "bidle6", { .client_uid = -1, .pending_conns = 3 } },
		{ SCEN_CLOSE_WAIT, AF_INET, "bcw", { .client_uid = -1, .close_wait_bytes = 10 } },
		{ SCEN_STALLED, AF_INET, "bstal", { .client_uid = -1 } },
		{ SCEN_RESET, AF_INET, "breset", { .client_uid = -1 } },
		{ SCEN_SHARED, AF_INET6, "bshar", { .client_uid = -1 } },
		{ SCEN_IDLE, AF_INET6, "bmap", { .v4mapped = true, .client_uid = 65534 } },
	};
	struct scenario sc[NSCEN];
	struct keyset got = { 0 }, want = { 0 }, gotp = { 0 }, wantp = { 0 };
	char pids[NSCEN * PROC_COUNT * 12] = "";
	size_t pl = 0;
	const cJSON *s;
	cJSON *b, *n;
	long long t0, t1;
	int dead = 0;

	if (!bpf_usable())
		return;
	for (int i = 0; i < NSCEN; i++) {
		scenario_start_opts(&sc[i], plan[i].kind, plan[i].family, plan[i].tag,
				    &plan[i].o);
		for (int k = 0; k < PROC_COUNT; k++)
			if (sc[i].pids[k] > 0)
				pl += (size_t)snprintf(pids + pl, sizeof(pids) - pl, "%s%d",
						       pl ? "," : "", (int)sc[i].pids[k]);
	}
	sleep_ms(PAST_IDLE_MS);

	t0 = test_now_ms();
	b = audit("bpf", pids);
	n = audit("netlink", pids);
	t1 = test_now_ms();

	cJSON_ArrayForEach(s, json_array(b, "sockets")) {
		char key[KEY_LEN];

		socket_key(s, key, sizeof(key));
		keyset_add(&got, key);
		dead += json_has_flag(s, "dead");
	}
	cJSON_ArrayForEach(s, json_array(n, "sockets")) {
		char key[KEY_LEN];

		socket_key(s, key, sizeof(key));
		keyset_add(&want, key);
	}
	/* Listeners and both ends of every scenario, and the reset one's
	 * dead descriptor: the comparison is not vacuous. */
	ck_assert_int_ge(want.n, 3 * NSCEN);
	ck_assert_int_ge(dead, 1);
	keyset_expect_same(&got, &want, "--source bpf vs netlink: sockets");
	process_keys(b, &gotp);
	process_keys(n, &wantp);
	ck_assert_int_ge(wantp.n, 2 * NSCEN);
	keyset_expect_same(&gotp, &wantp, "--source bpf vs netlink: processes");
	expect_same_times(b, n, t1 - t0);
	ck_assert_int_eq(json_int(json_object(b, "totals"), "idle"),
			 json_int(json_object(n, "totals"), "idle"));
	ck_assert_int_eq(json_int(json_object(b, "totals"), "stalled"),
			 json_int(json_object(n, "totals"), "stalled"));
	cJSON_Delete(b);
	cJSON_Delete(n);
	for (int i = 0; i < NSCEN; i++)
		scenario_stop(&sc[i]);
}
END_TEST

/* The whole host: as root, auto is bpf, and says nothing. */
START_TEST(test_auto_is_bpf)
{
	struct run_result r;
	cJSON *doc;

	if (!bpf_usable())
		return;
	run_sockaudit(&r, NULL, "-j", "-s", "listen", NULL);
	ck_assert_msg(r.status == 0 && r.err_len == 0, "%s", run_describe(&r));
	doc = json_report(&r);
	ck_assert_str_eq(json_str(doc, "source"), "bpf");
	cJSON_Delete(doc);
	run_result_free(&r);
}
END_TEST

/* Unprivileged: auto goes on with netlink without a word about BPF;
 * --source bpf exits 3 with one line naming what is missing. */
START_TEST(test_unprivileged)
{
	static const char *const auto_args[] = { "-j", "-s", "listen", NULL };
	static const char *const bpf_args[] = { "-j", "--source", "bpf", NULL };
	struct run_result r;
	cJSON *doc;

	run_sockaudit_as_nobody(&r, auto_args);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	ck_assert_msg(count_lines_containing(r.err, "bpf") == 0, "%s", run_describe(&r));
	doc = json_report(&r);
	ck_assert_str_eq(json_str(doc, "source"), "netlink");
	cJSON_Delete(doc);
	run_result_free(&r);

	run_sockaudit_as_nobody(&r, bpf_args);
	ck_assert_msg(r.status == 3, "%s", run_describe(&r));
	ck_assert_msg(r.out_len == 0, "%s", run_describe(&r));
	ck_assert_msg(count_lines(r.err) == 1 && !strncmp(r.err, "sockaudit: --source bpf: ", 25),
		      "%s", run_describe(&r));
	ck_assert_msg(strstr(r.err, bpf_built() ? "CAP_BPF and CAP_PERFMON" :
				     "not built with BPF support") != NULL,
		      "%s", run_describe(&r));
	run_result_free(&r);
}
END_TEST

/* ---- decoders, fed records ---- */

static struct sa_tcp_rec tcp_rec(int family, int state, uint16_t lport)
{
	struct sa_tcp_rec r;

	memset(&r, 0, sizeof(r));
	r.family = (uint8_t)family;
	r.state = (uint8_t)state;
	r.lport = lport;
	r.inode = lport;
	r.has_times = state != ST_TIME_WAIT && state != ST_NEW_SYN_RECV;
	r.last_recv_ms = 5;
	r.last_send_ms = 7;
	return r;
}

/* Which records become sockets: the selected families and states, any
 * listener, request sockets as syn_recv; and what they carry. */
START_TEST(test_decode_tcp)
{
	static const struct {
		int family, state;
		unsigned families;
		uint32_t states;
		int added, want_state;
	} rows[] = {
		{ AF_INET, ST_ESTABLISHED, FAMILY_BOTH, STATES_ALL, 1, ST_ESTABLISHED },
		{ AF_INET6, ST_ESTABLISHED, FAMILY_INET, STATES_ALL, 0, 0 },
		{ AF_INET6, ST_LISTEN, FAMILY_INET, STATE_BIT(ST_ESTABLISHED), 1, ST_LISTEN },
		{ AF_INET, ST_TIME_WAIT, FAMILY_BOTH, STATE_BIT(ST_ESTABLISHED), 0, 0 },
		{ AF_INET, ST_NEW_SYN_RECV, FAMILY_BOTH, STATE_BIT(ST_SYN_RECV), 1, ST_SYN_RECV },
		{ AF_INET, 13, FAMILY_BOTH, STATES_ALL, 0, 0 }, /* unknown state */
		{ AF_UNIX, ST_ESTABLISHED, FAMILY_BOTH, STATES_ALL, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct sa_tcp_rec in[2];
		struct sock_table t;

		in[0] = tcp_rec(rows[i].family, rows[i].state, 1000);
		in[1] = tcp_rec(AF_INET, ST_ESTABLISHED, 2000);
		memset(in[0].laddr, 0xab, sizeof(in[0].laddr));
		table_init(&t);
		ck_assert_int_eq(bpf_decode_tcp(in, sizeof(in), &t, rows[i].families,
						rows[i].states),
				 0);
		/* The second record, established AF_INET, when selected. */
		ck_assert_msg(t.nsocks == (size_t)rows[i].added +
				  ((rows[i].states & STATE_BIT(ST_ESTABLISHED)) &&
				   (rows[i].families & FAMILY_INET)),
			      "row %zu: %zu sockets", i, t.nsocks);
		if (rows[i].added) {
			const struct sock_rec *r = &t.socks[0];

			ck_assert_int_eq(r->state, rows[i].want_state);
			ck_assert_int_eq(r->lport, 1000);
			ck_assert_int_eq(r->inode, 1000);
			ck_assert_int_eq(r->has_times, in[0].has_times);
			ck_assert_int_eq(r->last_send_ms, in[0].has_times ? 7 : 0);
			/* AF_INET uses 4 bytes: the rest is cleared. */
			ck_assert_int_eq(r->laddr[15], rows[i].family == AF_INET ? 0 : 0xab);
			ck_assert_int_eq(table_has_listener(&t, 0, 1000),
					 rows[i].state == ST_LISTEN);
		}
		table_free(&t);
	}
	{
		struct sock_table t;
		unsigned char junk[sizeof(struct sa_tcp_rec) + 3] = { 0 };

		table_init(&t);
		ck_assert_int_eq(bpf_decode_tcp(junk, sizeof(junk), &t, FAMILY_BOTH, STATES_ALL),
				 -EBADMSG);
		table_free(&t);
	}
}
END_TEST

static struct sa_fd_rec fd_rec(uint32_t tgid, int fd, int kind, uint32_t inode)
{
	struct sa_fd_rec r;

	memset(&r, 0, sizeof(r));
	r.tgid = tgid;
	r.fd = fd;
	r.kind = (uint8_t)kind;
	r.inode = inode;
	return r;
}

/* Descriptors grouped by process, counted by kind (a file that is no
 * socket by its filesystem, as fd_types counts it), every socket listed;
 * comm and limit from the task records; --pid keeps only those. */
START_TEST(test_decode_fds)
{
	struct sa_fd_rec f[] = {
		fd_rec(20, 0, SA_FD_OTHER, 0),	 fd_rec(20, 3, SA_FD_TCP, 111),
		fd_rec(20, 4, SA_FD_SOCKET, 222), fd_rec(20, 6, SA_FD_OTHER, 0),
		fd_rec(20, 7, SA_FD_OTHER, 0),	 fd_rec(20, 8, SA_FD_OTHER, 0),
		fd_rec(10, 1, SA_FD_OTHER, 0),	 fd_rec(10, 5, SA_FD_TCP, 333),
	};

	f[1].family = AF_INET6;
	f[1].state = ST_CLOSE; /* a dead one: what owners.c is told by */
	f[2].family = AF_UNIX;
	f[2].state = SA_SOCK_UNIX; /* its kind, for fd_types */
	f[3].state = SA_FILE_PIPE;
	f[4].state = SA_FILE_ANON_INODE;
	f[5].state = SA_FILE_OTHER;
	struct sa_proc_rec tasks[2];
	struct fdscan s;
	const pid_t only[] = { 10 };

	memset(tasks, 0, sizeof(tasks));
	tasks[0].tgid = 20;
	tasks[0].fd_limit = ~0ULL;
	memcpy(tasks[0].comm, "twenty", 6);
	tasks[1].tgid = 10;
	tasks[1].fd_limit = 1024;
	memcpy(tasks[1].comm, "exactly-16-bytes", 16); /* no NUL */

	ck_assert_int_eq(fdscan_bpf_decode(&s, f, sizeof(f), tasks, sizeof(tasks), NULL, 0), 0);
	ck_assert_uint_eq(s.nprocs, 2);
	ck_assert_int_eq(s.procs[0].pid, 10); /* ascending, as the /proc scan */
	ck_assert_uint_eq(s.procs[0].comm_len, 16);
	ck_assert_uint_eq(s.procs[0].fd_limit, 1024);
	ck_assert_uint_eq(s.procs[0].nsocks, 1);
	ck_assert_int_eq(s.procs[1].pid, 20);
	ck_assert_uint_eq(s.procs[1].fds, 6);
	ck_assert_uint_eq(s.procs[1].socket_fds, 2);
	ck_assert_uint_eq(s.procs[1].nsocks, 2);
	ck_assert_int_eq(s.procs[1].socks[0].fd, 3);
	ck_assert_uint_eq(s.procs[1].socks[0].inode, 111);
	ck_assert_int_eq(s.procs[1].socks[1].fd, 4); /* UDP, UNIX: joined too */
	ck_assert_uint_eq(s.procs[1].socks[1].inode, 222);
	/* What the iterator said of each: owners.c needs no /proc read to
	 * tell a dead TCP socket, nor that another kind is none. */
	ck_assert_uint_eq(s.procs[1].socks[0].kind, FDS_TCP);
	ck_assert_uint_eq(s.procs[1].socks[0].family, AF_INET6);
	ck_assert_uint_eq(s.procs[1].socks[0].state, ST_CLOSE);
	ck_assert_uint_eq(s.procs[1].socks[1].kind, FDS_UNIX);
	ck_assert_uint_eq(s.procs[1].fd_types[FDT_FILE], 1);
	ck_assert_uint_eq(s.procs[1].fd_types[FDT_PIPE], 1);
	ck_assert_uint_eq(s.procs[1].fd_types[FDT_ANON_INODE], 1);
	ck_assert_uint_eq(s.procs[1].fd_types[FDT_OTHER], 1);
	ck_assert_uint_eq(s.procs[1].fd_limit, FD_LIMIT_NONE);
	ck_assert_int_eq(s.procs[1].has_fd_limit, 1);
	ck_assert_int_eq(memcmp(s.procs[1].comm, "twenty", 6), 0);
	fdscan_free(&s);

	ck_assert_int_eq(fdscan_bpf_decode(&s, f, sizeof(f), tasks, sizeof(tasks), only, 1), 0);
	ck_assert_uint_eq(s.nprocs, 1);
	ck_assert_int_eq(s.procs[0].pid, 10);
	fdscan_free(&s);

	/* No task record: no comm, no limit. */
	ck_assert_int_eq(fdscan_bpf_decode(&s, f, sizeof(f), NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(s.procs[0].has_fd_limit, 0);
	ck_assert_uint_eq(s.procs[0].comm_len, 0);
	fdscan_free(&s);

	ck_assert_int_eq(fdscan_bpf_decode(&s, f, sizeof(f) - 1, NULL, 0, NULL, 0), -EBADMSG);
	fdscan_free(&s);
}
END_TEST

/* A process that holds no socket is not listed (owners.c joins socket
 * descriptors only), wherever it comes in the records; the others keep
 * their own sockets, in order, from the one pool. */
START_TEST(test_decode_no_socket)
{
	const struct sa_fd_rec f[] = {
		fd_rec(5, 0, SA_FD_OTHER, 0),	fd_rec(5, 1, SA_FD_OTHER, 0),
		fd_rec(7, 3, SA_FD_TCP, 71),	fd_rec(7, 4, SA_FD_TCP, 72),
		fd_rec(8, 0, SA_FD_OTHER, 0),	fd_rec(9, 3, SA_FD_SOCKET, 91),
		fd_rec(11, 2, SA_FD_OTHER, 0),
	};
	struct fdscan s;

	ck_assert_int_eq(fdscan_bpf_decode(&s, f, sizeof(f), NULL, 0, NULL, 0), 0);
	ck_assert_uint_eq(s.nprocs, 2);
	ck_assert_int_eq(s.procs[0].pid, 7);
	ck_assert_uint_eq(s.procs[0].nsocks, 2);
	ck_assert_uint_eq(s.procs[0].socks[0].inode, 71);
	ck_assert_uint_eq(s.procs[0].socks[1].inode, 72);
	ck_assert_int_eq(s.procs[1].pid, 9);
	ck_assert_uint_eq(s.procs[1].nsocks, 1);
	ck_assert_uint_eq(s.procs[1].socks[0].inode, 91);
	ck_assert_uint_eq(s.procs[1].fds, 1);
	fdscan_free(&s);

	/* Only processes without sockets: none. */
	ck_assert_int_eq(fdscan_bpf_decode(&s, f, sizeof(f[0]) * 2, NULL, 0, NULL, 0), 0);
	ck_assert_uint_eq(s.nprocs, 0);
	fdscan_free(&s);
}
END_TEST

static Suite *bpf_suite(void)
{
	Suite *s = suite_create("bpf");
	TCase *tc = tcase_create("real");
	TCase *unit = tcase_create("decode");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, NULL, scenario_cleanup_all);
	tcase_add_test(tc, test_same_as_netlink);
	tcase_add_test(tc, test_auto_is_bpf);
	tcase_add_test(tc, test_unprivileged);
	suite_add_tcase(s, tc);
	tcase_add_test(unit, test_decode_tcp);
	tcase_add_test(unit, test_decode_fds);
	tcase_add_test(unit, test_decode_no_socket);
	suite_add_tcase(s, unit);
	return s;
}

int main(void)
{
	return run_suite(bpf_suite());
}
