/* Containers of real runtimes for tests (see ctrtest.h). */
#include "ctrtest.h"

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nstest.h"
#include "testlib.h"

#define CMD_MAX 8192

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

bool ctr_on_path(const char *cmd)
{
	char sh[256];

	snprintf(sh, sizeof(sh), "command -v %s >/dev/null 2>&1", cmd);
	return system(sh) == 0;
}

/* Format a command line; the test fails when it does not fit. */
static void format_cmd(char *cmd, const char *fmt, va_list ap)
{
	int n = vsnprintf(cmd, CMD_MAX, fmt, ap);

	ck_assert_msg(n >= 0 && n < CMD_MAX, "command line too long");
}

void ctr_sh(const char *fmt, ...)
{
	static char cmd[CMD_MAX];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	format_cmd(cmd, fmt, ap);
	va_end(ap);
	rc = system(cmd);
	ck_assert_msg(rc == 0, "'%s' exited %d", cmd, rc);
}

int ctr_sh_quiet(const char *fmt, ...)
{
	char cmd[CMD_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(cmd))
		return -1;
	return system(cmd);
}

void ctr_sh_line(char *out, size_t size, const char *fmt, ...)
{
	static char cmd[CMD_MAX];
	va_list ap;
	FILE *p;
	int rc;

	va_start(ap, fmt);
	format_cmd(cmd, fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	ck_assert_msg(p != NULL, "popen '%s': %s", cmd, strerror(errno));
	if (!fgets(out, (int)size, p))
		out[0] = '\0';
	while (fgetc(p) != EOF)
		;
	rc = pclose(p);
	out[strcspn(out, "\n")] = '\0';
	ck_assert_msg(rc == 0 && out[0], "'%s' exited %d, printed '%s'", cmd, rc, out);
}

bool ctr_sh_wait(int timeout_ms, const char *fmt, ...)
{
	char cmd[CMD_MAX];
	long long end = test_now_ms() + timeout_ms;
	va_list ap;

	va_start(ap, fmt);
	format_cmd(cmd, fmt, ap);
	va_end(ap);
	for (;;) {
		if (system(cmd) == 0)
			return true;
		if (test_now_ms() >= end)
			return false;
		sleep_ms(200);
	}
}

void ctr_make_rootfs(const char *dir)
{
	ctr_sh("set -e; mkdir -p %s/bin; cp \"$(command -v busybox)\" %s/bin/busybox",
	       dir, dir);
}

int ctr_netns_veth(const char *name, const char *hostif, int b, int c)
{
	if (nstest_create(name))
		return -1;
	return ctr_sh_quiet("set -e; ip link add %s type veth peer name eth0 netns %s; "
			    "ip addr add 10.%d.%d.1/30 dev %s; ip link set %s up; "
			    "ip -n %s addr add 10.%d.%d.2/30 dev eth0; "
			    "ip -n %s link set eth0 up",
			    hostif, name, b, c, hostif, hostif, name, b, c, name) ? -1 : 0;
}

int ctr_connect(const char *ip, int port, int timeout_ms, int *lport)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	long long end = test_now_ms() + timeout_ms;
	socklen_t len = sizeof(sa);
	int fd;

	ck_assert_int_eq(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
	for (;;) {
		int err;

		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(fd, 0);
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		err = errno;
		close(fd);
		ck_assert_msg(test_now_ms() < end, "connect %s:%d: %s", ip, port,
			      strerror(err));
		sleep_ms(200);
	}
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*lport = ntohs(sa.sin_port);
	return fd;
}

int ctr_traffic(const char *ip, const char *netns, int timeout_ms, int *held,
		int *closed)
{
	int fd;

	ck_assert_msg(ctr_sh_wait(timeout_ms, "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | "
				  "busybox nc %s 8080 2>/dev/null | grep -q '^HTTP/1'", ip),
		      "httpd in the container does not answer on %s:8080", ip);
	fd = ctr_connect(ip, 9090, timeout_ms, held);
	close(ctr_connect(ip, 9090, timeout_ms, closed));
	ck_assert_msg(ctr_sh_wait(timeout_ms, "ip netns exec %s ss -Htnp state close-wait "
				  "'( sport = :9090 )' | grep -q users:", netns),
		      "no CLOSE-WAIT held in %s", netns);
	ck_assert_msg(ctr_sh_wait(timeout_ms, "ip netns exec %s ss -Htnp state established "
				  "'( sport = :9090 and dport = :%d )' | grep -q users:",
				  netns, *held),
		      "no ESTABLISHED held in %s", netns);
	return fd;
}

void ctr_check_connections(const cJSON *doc, int held, int closed)
{
	const cJSON *s;

	s = json_socket_by_ports(doc, 9090, held);
	ck_assert_msg(s, "no connection from port %d", held);
	ctr_str_is(s, "state", "established");
	s = json_socket_by_ports(doc, 9090, closed);
	ck_assert_msg(s, "no connection from port %d", closed);
	ctr_str_is(s, "state", "close_wait");
}

/* rmdir PATH's subdirectories, deepest first, then PATH; the number
 * that stayed. */
static int rmdir_tree(const char *path, int depth)
{
	DIR *d;
	struct dirent *e;
	int left = 0;

	if (depth > 16)
		return 1;
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : 1;
	while ((e = readdir(d))) {
		char sub[PATH_MAX];

		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		left += rmdir_tree(sub, depth + 1);
	}
	closedir(d);
	return left + (rmdir(path) && errno != ENOENT);
}

int ctr_cgroup_remove(const char *rel)
{
	DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *e;
	char path[PATH_MAX];
	int left = 0;

	if (!d)
		return 0;
	/* The unified root itself (cgroup v2 only), then every hierarchy. */
	snprintf(path, sizeof(path), "/sys/fs/cgroup%s", rel);
	left += rmdir_tree(path, 0);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s%s", e->d_name, rel);
		left += rmdir_tree(path, 0);
	}
	closedir(d);
	return left;
}

void ctr_stop_pid(pid_t pid, int sig, int timeout_ms)
{
	long long end = test_now_ms() + timeout_ms;

	if (pid <= 0 || kill(pid, sig))
		return;
	while (test_now_ms() < end) {
		pid_t w = waitpid(pid, NULL, WNOHANG);

		if (w == pid || (w < 0 && kill(pid, 0)))
			return;
		sleep_ms(100);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

void ctr_str_is(const cJSON *o, const char *key, const char *want)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!want)
		ck_assert_msg(cJSON_IsNull(v), "%s: not null", key);
	else
		ck_assert_msg(cJSON_IsString(v) && !strcmp(v->valuestring, want),
			      "%s: %s, want %s", key,
			      cJSON_IsString(v) ? v->valuestring : "not a string", want);
}

/* RUN_TIMEOUT_MS stretched like Check's timeouts (CK_TIMEOUT_MULTIPLIER):
 * under valgrind on a loaded host one audit takes tens of seconds. */
static int run_timeout_ms(void)
{
	const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
	long k = m ? strtol(m, NULL, 10) : 1;

	return RUN_TIMEOUT_MS * (int)(k >= 1 && k <= 20 ? k : 1);
}

cJSON *ctr_audit(const char *const env[], const char *const args[], int status)
{
	const char *argv[32] = { sockaudit_path(), "-f", "json" };
	struct run_result r;
	size_t n = 3;
	cJSON *doc;

	while (args && *args) {
		ck_assert_msg(n < 31, "too many arguments");
		argv[n++] = *args++;
	}
	argv[n] = NULL;
	ck_assert_msg(run_cmd(argv, env, run_timeout_ms(), &r) == 0, "cannot run %s",
		      argv[0]);
	ck_assert_msg(!r.timed_out && !r.signaled, "%s: %s", argv[0], run_describe(&r));
	ck_assert_msg(r.status == status, "exit %d, want %d: %s", r.status, status,
		      run_describe(&r));
	doc = json_report(&r);
	run_result_free(&r);
	return doc;
}

const cJSON *ctr_report_process(const cJSON *doc, pid_t pid)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(doc, "processes"))
		if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(p, "pid")) &&
		    json_int(p, "pid") == pid)
			return p;
	return NULL;
}

const cJSON *ctr_group_by(const cJSON *doc, const char *key, const char *field,
			  const char *want)
{
	const cJSON *g;

	cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(doc, "groups")) {
		const cJSON *o = cJSON_GetObjectItemCaseSensitive(g, key);
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);

		if (cJSON_IsString(v) && !strcmp(v->valuestring, want))
			return g;
	}
	return NULL;
}

void ctr_save_output(const char *const env[], const char *const args[])
{
	const char *path = getenv("CTRTEST_OUTPUTS");
	struct run_result r;
	size_t i;
	FILE *f;

	if (!path || !*path)
		return;
	f = fopen(path, "a");
	if (!f)
		return;
	run_sockaudit_v(&r, env, args);
	fputs("$ sockaudit", f);
	for (i = 0; args[i]; i++)
		fprintf(f, " %s", args[i]);
	fprintf(f, "\n%s%s[exit status %d]\n\n", r.out, r.err, r.status);
	run_result_free(&r);
	fclose(f);
}

int ctr_run(const char *name, const TTest *test, int timeout_s, void (*teardown)(void))
{
	Suite *s = suite_create(name);
	TCase *tc = tcase_create(name);
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, timeout_s);
	tcase_add_unchecked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	teardown();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
