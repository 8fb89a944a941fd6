/*
 * A UNIX socket's uid and queues, on real sockets: tests/progs/
 * unix_queue_helper holds, as uid 65534, a stream socketpair whose end B
 * has 1000 unread bytes.  With netlink, sockaudit reports the uid the
 * socket inode has (stat of /proc/PID/fd/N) and the queues ss -xanpe
 * reports; with the /proc source, which has neither, uid, recv_q and
 * send_q are null in JSON and "-" in the table, never a made-up 0.
 */
#include <check.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lib/http.h"
#include "lib/testlib.h"
#include "lib/runsuite.h"

#define NOBODY 65534
#define UNREAD 1000

/* The running helper and its two sockets. */
struct helper {
	struct bg_proc p;
	char pid_arg[24];
	unsigned long ino[2];
	int fd[2];
};

static void helper_start(struct helper *h)
{
	char path[PATH_MAX], line[128];
	const char *argv[] = { path, "65534", "1000", NULL };

	snprintf(path, sizeof(path), "%s/unix_queue_helper",
		 test_env_dir("TEST_PROGS", "build/tests/progs"));
	ck_assert_int_eq(bg_start(&h->p, argv, true), 0);
	if (bg_read_line(&h->p, line, sizeof(line), 10000) ||
	    sscanf(line, "ready %lu %d %lu %d", &h->ino[0], &h->fd[0], &h->ino[1],
		   &h->fd[1]) != 4)
		ck_abort_msg("unix_queue_helper did not start: %s", bg_stderr(&h->p));
	snprintf(h->pid_arg, sizeof(h->pid_arg), "%d", (int)h->p.pid);
}

static void helper_stop(struct helper *h)
{
	bg_stop(&h->p, SIGKILL, 5000);
	bg_free(&h->p);
}

/* sockaudit -x --pid PID --source SOURCE, with `more` (NULL or one
 * more argument), checked to exit 0. */
static void audit(struct run_result *r, const struct helper *h,
		  const char *source, const char *more)
{
	const char *args[] = { "-x", "--list", "--source", source, "--pid", h->pid_arg,
			       more, NULL };

	run_sockaudit_v(r, NULL, args);
	ck_assert_msg(r->status == 0, "%s", run_describe(r));
}

/* The owner uid of the helper's descriptor fd: its socket inode's. */
static long long fd_uid(const struct helper *h, int fd)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%s/fd/%d", h->pid_arg, fd);
	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_uid;
}

/* ss -xanpe's Recv-Q and Send-Q of the socket with this inode. */
static void ss_queues(unsigned long ino, long long *rq, long long *sq)
{
	const char *const argv[] = { "ss", "-xanpe", NULL };
	char *save = NULL, *line, want[32];
	struct run_result r;
	int found = 0;

	ck_assert_int_eq(run_cmd(argv, NULL, RUN_TIMEOUT_MS, &r), 0);
	ck_assert_msg(r.status == 0, "ss: %s", run_describe(&r));
	snprintf(want, sizeof(want), "%lu", ino);
	for (line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char netid[16], state[16], local[8], inode[32];

		/* Netid State Recv-Q Send-Q Local(*) Inode Peer PeerInode */
		if (sscanf(line, "%15s %15s %lld %lld %7s %31s", netid, state, rq, sq, local,
			   inode) == 6 &&
		    !strcmp(inode, want)) {
			found = 1;
			break;
		}
	}
	run_result_free(&r);
	ck_assert_msg(found, "ss -xanpe does not list inode %lu", ino);
}

/* A number key as text, "null" when null (for messages). */
static const char *val(const cJSON *s, const char *key)
{
	static char buf[4][32];
	static int n;
	char *b = buf[n++ % 4];

	if (json_is_null(s, key))
		return "null";
	snprintf(b, sizeof(buf[0]), "%lld", json_int(s, key));
	return b;
}

START_TEST(test_netlink_uid_and_queues)
{
	struct helper h;
	struct run_result r;
	long long unread = 0;
	cJSON *doc;
	int i;

	helper_start(&h);
	audit(&r, &h, "netlink", "-j");
	doc = json_report(&r);
	run_result_free(&r);
	for (i = 0; i < 2; i++) {
		const cJSON *s = json_socket_by_inode(doc, h.ino[i]);
		long long rq, sq;

		ck_assert_msg(s, "inode %lu not reported", h.ino[i]);
		ck_assert_int_eq(json_int(s, "uid"), NOBODY);
		ck_assert_int_eq(json_int(s, "uid"), fd_uid(&h, h.fd[i]));
		ss_queues(h.ino[i], &rq, &sq);
		ck_assert_int_eq(json_int(s, "recv_q"), rq);
		ck_assert_int_eq(json_int(s, "send_q"), sq);
		unread += rq;
	}
	/* End B holds the bytes written and not read. */
	ck_assert_int_eq(json_int(json_socket_by_inode(doc, h.ino[1]), "recv_q"), UNREAD);
	ck_assert_int_eq(unread, UNREAD);
	cJSON_Delete(doc);
	helper_stop(&h);
}
END_TEST

START_TEST(test_proc_uid_and_queues_null)
{
	struct helper h;
	struct run_result r;
	cJSON *doc;
	int i;

	helper_start(&h);
	audit(&r, &h, "proc", "-j");
	/* One line says what /proc/net/unix lacks. */
	ck_assert_msg(count_lines_containing(r.err, "/proc/net/unix has no") == 1, "%s",
		      r.err);
	doc = json_report(&r);
	run_result_free(&r);
	ck_assert_str_eq(json_str(doc, "source"), "proc");
	for (i = 0; i < 2; i++) {
		const cJSON *s = json_socket_by_inode(doc, h.ino[i]);

		ck_assert_msg(s, "inode %lu not reported", h.ino[i]);
		ck_assert_msg(json_is_null(s, "uid") && json_is_null(s, "recv_q") &&
				      json_is_null(s, "send_q"),
			      "uid or queues made up for socket %lu: uid %s recv_q %s send_q %s",
			      h.ino[i], val(s, "uid"), val(s, "recv_q"), val(s, "send_q"));
	}
	cJSON_Delete(doc);

	/* The table: RECV-Q, SEND-Q and REMOTE are "-", as IDLE is when
	 * unknown. */
	audit(&r, &h, "proc", NULL);
	for (i = 0; i < 2; i++) {
		char want[32], *line, *save = NULL, *copy = strdup(r.out);
		int found = 0;

		ck_assert_ptr_nonnull(copy);
		snprintf(want, sizeof(want), " %lu ", h.ino[i]);
		for (line = strtok_r(copy, "\n", &save); line && !found;
		     line = strtok_r(NULL, "\n", &save)) {
			char netid[16], state[16], rq[16], sq[16], name[64], ino[32],
				remote[16];

			if (!strstr(line, want))
				continue;
			found = 1;
			/* The helper's sockets are unbound: LOCAL is "* INODE". */
			ck_assert_int_eq(sscanf(line, "%15s %15s %15s %15s %63s %31s %15s", netid,
						state, rq, sq, name, ino, remote),
					 7);
			ck_assert_msg(!strcmp(rq, "-") && !strcmp(sq, "-"),
				      "queues made up in the table: %s", line);
			/* No peer is "* 0"; an unknown one is "-". */
			ck_assert_msg(!strcmp(remote, "-"), "peer made up in the table: %s",
				      line);
		}
		free(copy);
		ck_assert_msg(found, "inode %lu not in the table:\n%s", h.ino[i], r.out);
	}
	run_result_free(&r);
	helper_stop(&h);
}
END_TEST

static Suite *unix_unknown_suite(void)
{
	Suite *s = suite_create("unix_unknown");
	TCase *tc = tcase_create("real");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_netlink_uid_and_queues);
	tcase_add_test(tc, test_proc_uid_and_queues_null);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int failed;

	if (geteuid() != 0) {
		/* The helper drops to uid 65534: only root can. */
		fprintf(stderr, "test_unix_unknown: skipped, needs root\n");
		return 0;
	}
	failed = run_suite(unix_unknown_suite());
	bg_cleanup_all();
	return failed;
}
