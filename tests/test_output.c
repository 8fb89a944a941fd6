/*
 * Where the output goes, and what it is asked to open:
 *
 * - write errors on every output path (help, version, table, list,
 *   JSON, Prometheus, a watch in both formats) into /dev/full and into a
 *   closed stdout: status 3, one "sockaudit: writing ..." line;
 * - a watch writing into a pipe nobody reads, stopped by SIGTERM or
 *   SIGINT: it ends within a hang bound with status 3 and one line that
 *   says how many bytes of which sample were written, and stdout holds
 *   exactly the whole samples before it plus those bytes; a one-shot
 *   audit blocked so dies of the signal;
 * - --netns given a path that is no namespace (FIFO, also another
 *   user's in /tmp, device, directory, socket, regular file, symlink
 *   loop, a mount namespace): status 3, nothing opened that can block,
 *   one line naming what it is.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cjson/cJSON.h>

#include "lib/testlib.h"
#include "lib/runsuite.h"

#define MAXARGS 10

/* Check's timeouts are stretched under valgrind and ASan; so are our
 * hang bounds (they catch a hang, they time nothing). */
static int multiplier(void)
{
	const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
	int v = m ? atoi(m) : 1;

	return v > 0 ? v : 1;
}

/* ---- running the binary with stdout of our choosing ----------------- */

/*
 * Start sockaudit with args (NULL-terminated), stdout on out_fd (-1:
 * closed), stderr into a pipe whose read end goes to *err_fd.  Returns
 * its PID; the test fails when it cannot be started.
 */
static pid_t spawn(const char *const args[], int out_fd, int *err_fd)
{
	const char *argv[MAXARGS + 2];
	int errp[2];
	size_t n = 0;
	pid_t pid, self = getpid();

	argv[n++] = sockaudit_path();
	while (args[n - 1] && n <= MAXARGS) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	ck_assert_int_eq(pipe2(errp, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		sigset_t none;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != self)
			_exit(127);
		setpgid(0, 0);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(errp[1], 2) < 0)
			_exit(127);
		if (out_fd >= 0 ? dup2(out_fd, 1) < 0 : close(1) < 0)
			_exit(127);
		close_range(3, ~0U, 0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		execvp(argv[0], (char *const *)argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	close(errp[1]);
	*err_fd = errp[0];
	return pid;
}

/* The first line of /proc/PID/<name> into buf ("" when unreadable). */
static void proc_line(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	buf[0] = '\0';
	f = fopen(path, "r");
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* What pid was doing when it did not end in time (for the message). */
static char hang_state[256];

/* Wait at most ms for pid; returns its wait status, or -1 after killing
 * its process group when it did not end in time (hang_state then says
 * where it was). */
static int wait_bounded(pid_t pid, long long ms)
{
	long long deadline = test_now_ms() + ms;
	int st;

	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			return st;
		if (test_now_ms() > deadline) {
			char sys[96], wchan[64];

			proc_line(pid, "syscall", sys, sizeof(sys));
			proc_line(pid, "wchan", wchan, sizeof(wchan));
			snprintf(hang_state, sizeof(hang_state), "syscall %s, wchan %s",
				 sys, wchan);
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		usleep(20000);
	}
}

/* All of fd until EOF (or EAGAIN for a non-blocking one), into a
 * malloc'd NUL-terminated buffer; *len its length. */
static char *read_all(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	ck_assert_ptr_nonnull(buf);
	for (;;) {
		ssize_t got;

		if (cap - n < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
		got = read(fd, buf + n, cap - n - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Exit status 3 and exactly one stderr line, ours, holding needle. */
static void expect_one_line(int st, const char *err, const char *needle)
{
	ck_assert_msg(st >= 0, "no exit within the bound (%s); stderr: %s",
		      hang_state, err);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 3,
		      "wait status %#x, stderr: %s", (unsigned)st, err);
	ck_assert_msg(count_lines(err) == 1 && all_lines_start_with(err, "sockaudit: "),
		      "stderr: %s", err);
	ck_assert_msg(strstr(err, needle), "no '%s' in: %s", needle, err);
}

/* ---- 1. write errors on every output path --------------------------- */

enum sink { SINK_FULL, SINK_CLOSED };

/* Under tests/valgrind-sockaudit, valgrind opens its log file at the
 * lowest free descriptor: a closed stdout is that file for sockaudit. */
static bool under_valgrind(void)
{
	const char *p = getenv("SOCKAUDIT");

	return getenv("VALGRIND_LOGS") || (p && strstr(p, "valgrind"));
}

static const struct {
	const char *args[MAXARGS];
	const char *what; /* "writing <what>: " */
} write_rows[] = {
	{ { "--help" }, "the help" },
	{ { "--version" }, "the version" },
	{ { "-P", "1" }, "the report" },
	{ { "-l" }, "the report" },
	{ { "-j" }, "the report" },
	{ { "-f", "prometheus" }, "the report" },
	{ { "-w", "100ms", "-c", "2" }, "the report" },
	{ { "-w", "100ms", "-c", "2", "-j" }, "the report" },
};
#define NWRITE (sizeof(write_rows) / sizeof(write_rows[0]))

START_TEST(test_write_errors)
{
	const char *const *args = write_rows[_i % NWRITE].args;
	enum sink sink = _i < (int)NWRITE ? SINK_FULL : SINK_CLOSED;
	char needle[96];
	size_t len;
	char *err;
	int full = -1, errfd, st;
	pid_t pid;

	if (sink == SINK_CLOSED && under_valgrind())
		return;
	if (sink == SINK_FULL) {
		full = open("/dev/full", O_WRONLY | O_CLOEXEC);
		ck_assert_int_ge(full, 0);
	}
	pid = spawn(args, full, &errfd);
	if (full >= 0)
		close(full);
	err = read_all(errfd, &len);
	close(errfd);
	st = wait_bounded(pid, 20000LL * multiplier());
	snprintf(needle, sizeof(needle), "writing %s: %s", write_rows[_i % NWRITE].what,
		 strerror(sink == SINK_FULL ? ENOSPC : EBADF));
	expect_one_line(st, err, needle);
	free(err);
}
END_TEST

/* ---- 2. a stop while stdout does not take the sample ---------------- */

enum fill { FILL_BEFORE, FILL_BY_WATCH, FILL_ONESHOT };

/* Connections held while a stop is tested (hold_connections). */
#define STOP_CONNS 300

static const struct {
	enum fill fill;
	bool json;
	int sig;
} stop_rows[] = {
	{ FILL_BEFORE, false, SIGTERM },
	{ FILL_BEFORE, false, SIGINT },
	{ FILL_BEFORE, true, SIGTERM },
	{ FILL_BEFORE, true, SIGINT },
	{ FILL_BY_WATCH, false, SIGINT },
	{ FILL_BY_WATCH, true, SIGTERM },
	{ FILL_BY_WATCH, true, SIGINT },
	{ FILL_ONESHOT, true, SIGTERM },
};

/* Fill the pipe's write end w until it takes no more; returns the bytes. */
static size_t fill_pipe(int w)
{
	int fl = fcntl(w, F_GETFL);
	char chunk[512];
	size_t n = 0;

	memset(chunk, 'x', sizeof(chunk));
	ck_assert_int_eq(fcntl(w, F_SETFL, fl | O_NONBLOCK), 0);
	for (;;) {
		ssize_t k = write(w, chunk, sizeof(chunk));

		if (k <= 0)
			break;
		n += (size_t)k;
	}
	/* Nothing is left but a page's slack: one byte at a time. */
	while (write(w, chunk, 1) == 1)
		n++;
	ck_assert_int_eq(fcntl(w, F_SETFL, fl), 0);
	return n;
}

/* Whether pid is in write(2) now (its /proc/PID/syscall). */
static bool in_write(pid_t pid)
{
	char path[64], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return atol(buf) == SYS_write && buf[0] >= '0' && buf[0] <= '9';
}

/* Wait (at most ms) until pid sits in write(2) on a pipe that takes no
 * more.  A pipe of one page can refuse a write with less than a page
 * queued (a write that does not fit the page's free part waits for a
 * new page), so "full" is: the writer stays in write(2) while nothing
 * is read and the queue does not move. */
static void wait_blocked(pid_t pid, int r, long long ms)
{
	long long deadline = test_now_ms() + ms;

	for (;;) {
		int queued = 0, again = 0;

		ck_assert_msg(test_now_ms() < deadline, "never blocked in write(2)");
		ck_assert_int_eq(ioctl(r, FIONREAD, &queued), 0);
		if (queued > 0 && in_write(pid)) {
			/* Seen twice: not a write that is about to return. */
			usleep(200000);
			ck_assert_int_eq(ioctl(r, FIONREAD, &again), 0);
			if (again == queued && in_write(pid))
				return;
		}
		usleep(50000);
	}
}

/* The sample number and byte count the stop's line gives; -1 bytes:
 * "took nothing". */
static void parse_gave_up(const char *err, long long *sample, long long *bytes)
{
	const char *p = strstr(err, "standard output took ");

	ck_assert_msg(p, "no 'standard output took' in: %s", err);
	p += strlen("standard output took ");
	if (sscanf(p, "nothing of sample %lld", sample) == 1) {
		*bytes = 0;
		return;
	}
	ck_assert_msg(sscanf(p, "%lld bytes of sample %lld", bytes, sample) == 2,
		      "unreadable: %s", err);
	ck_assert_msg(strstr(err, "incomplete"), "%s", err);
}

/* stdout after the filler: whole samples 0..sample-1, each ending in a
 * newline, then exactly `bytes` bytes of sample `sample` (for NDJSON:
 * the start of one line, without its newline). */
static void check_samples(const char *out, size_t len, bool json,
			  long long sample, long long bytes)
{
	size_t whole;
	char *copy;

	ck_assert_msg(bytes >= 0 && (size_t)bytes <= len,
		      "the line said %lld bytes, stdout has %zu", bytes, len);
	whole = len - (size_t)bytes;
	ck_assert_msg(whole == 0 || out[whole - 1] == '\n',
		      "the whole samples do not end with a newline");
	ck_assert_msg(!json || !memchr(out + whole, '\n', (size_t)bytes),
		      "the incomplete sample holds a newline");
	copy = strndup(out, whole);
	ck_assert_ptr_nonnull(copy);
	if (json) {
		long long k = 0;
		char *save = NULL, *line;

		for (line = strtok_r(copy, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save), k++) {
			cJSON *doc = cJSON_Parse(line);

			ck_assert_msg(doc, "sample %lld is not JSON", k);
			ck_assert_int_eq(json_int(doc, "sample"), k);
			cJSON_Delete(doc);
		}
		ck_assert_int_eq(k, sample);
	} else {
		ck_assert_int_eq(count_totals_lines(copy), sample);
	}
	free(copy);
}

/*
 * n loopback connections, both ends held here (fds[0..2n]; the
 * listener is closed): a whole-host JSON sample of over 64 KiB, which
 * the renderer hands to the stream in writes larger than its buffer.
 */
static void hold_connections(int n, int *fds)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(l, n), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &alen), 0);
	for (int i = 0; i < n; i++) {
		fds[2 * i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(fds[2 * i], 0);
		ck_assert_int_eq(connect(fds[2 * i], (struct sockaddr *)&a, sizeof(a)), 0);
		fds[2 * i + 1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		ck_assert_int_ge(fds[2 * i + 1], 0);
	}
	close(l);
}

START_TEST(test_stop_blocked)
{
	const char *watch[] = { "-w", "100ms", stop_rows[_i].json ? "-j" : NULL, NULL };
	const char *once[] = { "-j", NULL };
	enum fill fill = stop_rows[_i].fill;
	long long sample = -1, bytes = -1, t0;
	int p[2], errfd, st;
	size_t filler = 0, len, elen;
	char *out, *err;
	pid_t pid;
	int conns[2 * STOP_CONNS];

	hold_connections(STOP_CONNS, conns);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	/* One page: a watch fills it in a few samples, even under valgrind. */
	ck_assert_int_ge(fcntl(p[1], F_SETPIPE_SZ, 4096), 0);
	if (fill != FILL_BY_WATCH)
		filler = fill_pipe(p[1]);
	pid = spawn(fill == FILL_ONESHOT ? once : watch, p[1], &errfd);
	close(p[1]);
	wait_blocked(pid, p[0], 60000LL * multiplier());

	t0 = test_now_ms();
	ck_assert_int_eq(kill(pid, stop_rows[_i].sig), 0);
	/* It gives the sample 1 s; the rest is room for a loaded host
	 * (load average 25 on 2 cores was seen). */
	st = wait_bounded(pid, 10000LL * multiplier());
	err = read_all(errfd, &elen);
	close(errfd);
	ck_assert_msg(st >= 0, "still blocked %lld ms after signal %d (%s); stderr: %s",
		      test_now_ms() - t0, stop_rows[_i].sig, hang_state, err);
	if (fill == FILL_ONESHOT) {
		/* No handler: the signal ends it as it ends any program. */
		ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == stop_rows[_i].sig,
			      "wait status %#x; stderr: %s", (unsigned)st, err);
		goto out;
	}
	expect_one_line(st, err, stop_rows[_i].sig == SIGINT ? "SIGINT: " : "SIGTERM: ");
	parse_gave_up(err, &sample, &bytes);

	ck_assert_int_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	out = read_all(p[0], &len);
	ck_assert_uint_ge(len, filler);
	if (fill == FILL_BEFORE)
		ck_assert_msg(sample == 0 && bytes == 0, "%s", err);
	check_samples(out + filler, len - filler, stop_rows[_i].json, sample, bytes);
	free(out);
out:
	free(err);
	for (int i = 0; i < 2 * STOP_CONNS; i++)
		close(conns[i]);
	close(p[0]);
}
END_TEST

/* ---- 3. --netns paths that are no network namespace ----------------- */

enum odd { ODD_FIFO, ODD_FIFO_OTHER, ODD_CHARDEV, ODD_DIR, ODD_FILE,
	   ODD_FILE_OTHER, ODD_SOCKET, ODD_LOOP, ODD_MNT_NS };

static const struct {
	enum odd kind;
	const char *says;
} odd_rows[] = {
	{ ODD_FIFO, "is a FIFO, not a network namespace" },
	{ ODD_FIFO_OTHER, "is a FIFO, not a network namespace" },
	{ ODD_CHARDEV, "is a character device, not a network namespace" },
	{ ODD_DIR, "is a directory, not a network namespace" },
	{ ODD_FILE, "is a regular file, not a network namespace" },
	{ ODD_FILE_OTHER, "is a regular file, not a network namespace" },
	{ ODD_SOCKET, "is a socket, not a network namespace" },
	{ ODD_LOOP, "Too many levels of symbolic links" },
	{ ODD_MNT_NS, "is a mount namespace, not a network namespace" },
};

/* Make the odd file of row kind at path (a fresh name); returns the
 * path to give --netns. */
static const char *make_odd(enum odd kind, char *path, size_t len)
{
	int fd;

	snprintf(path, len, "/tmp/sa-odd-%d-%d", (int)getpid(), (int)kind);
	unlink(path);
	rmdir(path);
	switch (kind) {
	case ODD_FIFO:
	case ODD_FIFO_OTHER:
		ck_assert_int_eq(mkfifo(path, 0666), 0);
		break;
	case ODD_CHARDEV:
		return "/dev/null";
	case ODD_DIR:
		ck_assert_int_eq(mkdir(path, 0755), 0);
		break;
	case ODD_FILE:
	case ODD_FILE_OTHER:
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		ck_assert_int_ge(fd, 0);
		close(fd);
		break;
	case ODD_SOCKET: {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(fd, 0);
		ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
		memcpy(sun.sun_path, path, strlen(path) + 1);
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
		close(fd);
		break;
	}
	case ODD_LOOP:
		ck_assert_int_eq(symlink(path, path), 0);
		break;
	case ODD_MNT_NS:
		snprintf(path, len, "/proc/%d/ns/mnt", (int)getpid());
		return path;
	}
	/* Another user's file in the sticky /tmp, as a hostile one would
	 * leave it (we run as root). */
	if (kind == ODD_FIFO_OTHER || kind == ODD_FILE_OTHER)
		ck_assert_int_eq(chown(path, 65534, 65534), 0);
	return path;
}

/* Remove what make_odd made, also after a failed assertion. */
static void remove_odd(void)
{
	char path[128];
	int kind;

	for (kind = 0; kind <= ODD_MNT_NS; kind++) {
		snprintf(path, sizeof(path), "/tmp/sa-odd-%d-%d", (int)getpid(), kind);
		unlink(path);
		rmdir(path);
	}
}

START_TEST(test_netns_odd_paths)
{
	enum odd kind = odd_rows[_i].kind;
	struct run_result r;
	char path[128];
	const char *arg = make_odd(kind, path, sizeof(path));

	/* A FIFO opened for reading blocks until a writer comes:
	 * run_sockaudit's timeout fails the test then. */
	run_sockaudit(&r, NULL, "--netns", arg, NULL);
	ck_assert_msg(r.status == 3, "%s", run_describe(&r));
	ck_assert_msg(r.out_len == 0, "stdout not empty: %s", run_describe(&r));
	ck_assert_msg(count_lines(r.err) == 1 && all_lines_start_with(r.err, "sockaudit: "),
		      "%s", run_describe(&r));
	ck_assert_msg(strstr(r.err, odd_rows[_i].says), "no '%s' in: %s",
		      odd_rows[_i].says, r.err);
	ck_assert_msg(strstr(r.err, arg), "no '%s' in: %s", arg, r.err);
	run_result_free(&r);
}
END_TEST

static Suite *output_suite(void)
{
	Suite *s = suite_create("output");
	TCase *tc = tcase_create("write_errors");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_write_errors, 0, (int)(2 * NWRITE));
	suite_add_tcase(s, tc);

	tc = tcase_create("stop_blocked");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_stop_blocked, 0,
			    (int)(sizeof(stop_rows) / sizeof(stop_rows[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("netns_paths");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, NULL, remove_odd);
	tcase_add_loop_test(tc, test_netns_odd_paths, 0,
			    (int)(sizeof(odd_rows) / sizeof(odd_rows[0])));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(output_suite());
}
