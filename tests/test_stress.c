/*
 * Races: audit the whole host again and again while helper processes
 * churn — connections opened and closed as fast as they go, processes
 * forking and exiting, descriptors closed between sockaudit's readdir
 * and its readlink.  Every run must exit 0 with a well-formed report,
 * and no socket may be reported under a process that could not hold it.
 * Bounded in time: STRESS_SECONDS (default 15).
 */
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/testlib.h"
#include "lib/runsuite.h"

/* A listener on 127.0.0.1, kernel-chosen port. */
static int listen_loopback(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 1024) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		_exit(1);
	*port = ntohs(a.sin_port);
	return fd;
}

static int connect_loopback(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		_exit(1);
	return fd;
}

/* Close with a reset: no TIME-WAIT left on the host by the thousands. */
static void close_reset(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* Connections to its own listener, a pool of 64 replaced continuously. */
static void churner(int port_fd)
{
	int pool[128], head = 0, n = 0, port, lis = listen_loopback(&port);

	if (write(port_fd, &port, sizeof(port)) != sizeof(port))
		_exit(1);
	for (;;) {
		pool[(head + n++) % 128] = connect_loopback(port);
		pool[(head + n++) % 128] = accept(lis, NULL, NULL);
		while (n > 64) {
			close_reset(pool[head]);
			head = (head + 1) % 128;
			n--;
		}
	}
}

/* Children that connect to its listener and exit at once; it accepts
 * and closes what they leave, and reaps them. */
static void forker(int port_fd)
{
	int port, lis = listen_loopback(&port);

	if (write(port_fd, &port, sizeof(port)) != sizeof(port))
		_exit(1);
	fcntl(lis, F_SETFL, O_NONBLOCK);
	for (;;) {
		pid_t c = fork();
		int s;

		if (c == 0) {
			connect_loopback(port);
			_exit(0);
		}
		while ((s = accept(lis, NULL, NULL)) >= 0)
			close_reset(s);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
}

/* Descriptors that never stay: pipes and AF_UNIX pairs, 64 at a time,
 * opened and closed in a loop.  It never holds a TCP socket. */
static void flipper(int port_fd)
{
	int zero = 0;

	if (write(port_fd, &zero, sizeof(zero)) != sizeof(zero))
		_exit(1);
	for (;;) {
		int fds[64], i;

		for (i = 0; i < 64; i += 2) {
			if (i % 4 == 0) {
				if (pipe(fds + i) < 0)
					_exit(1);
			} else if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds + i) < 0) {
				_exit(1);
			}
		}
		for (i = 0; i < 64; i++)
			close(fds[i]);
	}
}

static pid_t spawn(void (*body)(int), int *port)
{
	int p[2];
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		body(p[1]);
		_exit(0);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], port, sizeof(*port)), (ssize_t)sizeof(*port));
	close(p[0]);
	return pid;
}

/* Whether socket s is on port, at either end; a dead socket by the
 * local port it had (its released one, "last_local_port"). */
static int involves(const cJSON *s, int port)
{
	const cJSON *last = cJSON_GetObjectItemCaseSensitive(s, "last_local_port");

	return (!json_is_null(s, "local_port") && json_int(s, "local_port") == port) ||
	       (!json_is_null(s, "remote_port") && json_int(s, "remote_port") == port) ||
	       (cJSON_IsNumber(last) && last->valuedouble == port);
}

START_TEST(test_audit_under_churn)
{
	const char *env = getenv("STRESS_SECONDS");
	long long end = test_now_ms() + 1000LL * (env ? atoi(env) : 15);
	int cport, fport, zero, runs = 0, attributed = 0;
	pid_t ch = spawn(churner, &cport);
	pid_t fk = spawn(forker, &fport);
	pid_t fl = spawn(flipper, &zero);

	do {
		struct run_result r;
		const cJSON *s;
		cJSON *doc;

		run_sockaudit(&r, NULL, "-j", "--idle", "1s", NULL);
		ck_assert_msg(r.status == 0, "run %d: %s", runs, run_describe(&r));
		doc = json_report(&r);
		json_check_report_shape(doc);
		cJSON_ArrayForEach(s, json_array(doc, "sockets")) {
			/* The churner and the forker only ever hold sockets
			 * of their own port; the flipper holds none. */
			if (json_socket_process(s, ch)) {
				ck_assert_msg(involves(s, cport), "a socket not on port %d "
					      "is reported under the churner", cport);
				attributed++;
			}
			if (json_socket_process(s, fk))
				ck_assert_msg(involves(s, fport), "a socket not on port %d "
					      "is reported under the forker", fport);
			ck_assert_msg(!json_socket_process(s, fl),
				      "a TCP socket is reported under the fd flipper");
		}
		cJSON_Delete(doc);
		run_result_free(&r);
		runs++;
	} while (test_now_ms() < end);
	kill(ch, SIGKILL);
	kill(fk, SIGKILL);
	kill(fl, SIGKILL);
	waitpid(ch, NULL, 0);
	waitpid(fk, NULL, 0);
	waitpid(fl, NULL, 0);
	/* The check above is not vacuous: the churner's sockets were seen. */
	ck_assert_int_gt(attributed, 0);
	fprintf(stderr, "stress: %d audits under churn, %d churner sockets checked\n",
		runs, attributed);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("stress");
	TCase *tc = tcase_create("churn");
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_audit_under_churn);
	suite_add_tcase(su, tc);
	failed = run_suite(su);
	return failed != 0;
}
