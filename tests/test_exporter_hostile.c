/*
 * The exporter (--listen) against clients that misbehave: slowloris and
 * silent connections while normal scrapes are timed, a burst of
 * concurrent scrapes (every one must get an HTTP status), --max-requests,
 * scrapes sharing one audit, and malformed requests (no Host, huge
 * headers and URLs, pipelining, half-closed sockets, HTTP/0.9, bytes
 * that are not HTTP).  The figures are printed on stderr; the bounds
 * asserted are generous, for a busy host.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdbool.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/exptest.h"
#include "lib/http.h"
#include "lib/scenario.h"
#include "lib/testlib.h"
#include "lib/runsuite.h"

#define STOP_MS 20000
#define HTTP_MS 20000

/* Entries of a directory but . and .. (-1 when it cannot be read). */
static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Start `[PRE...] sockaudit --listen 127.0.0.1:PORT extra...` (PRE: a
 * command prefix such as "env A=B" or "nofile N"). */
static void exporter_start(struct bg_proc *p, int *port, const char *const pre[],
			   const char *const extra[])
{
	exptest_start(p, port, pre, extra);
}

static void exporter_stop_ok(struct bg_proc *p)
{
	int status = bg_stop(p, SIGTERM, STOP_MS);
	char *err = bg_stderr(p);

	ck_assert_msg(status == 0, "exporter status %d; stderr: %s", status, err);
	free(err);
	bg_free(p);
}

/* A connected TCP socket to 127.0.0.1:port, or -1. */
static int connect_to(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A process's resident memory in KiB, or -1. */
static long rss_kib(pid_t pid)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0)
		if (!strncmp(line, "VmRSS:", 6))
			kib = atol(line + 6);
	free(line);
	fclose(f);
	return kib;
}

/* Whether the process runs under ASan or valgrind (its memory is then
 * the tool's: RSS is not bounded). */
static bool under_tool(pid_t pid)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	bool tool = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!tool && getline(&line, &cap, f) > 0)
		tool = strstr(line, "libasan") || strstr(line, "vgpreload");
	free(line);
	fclose(f);
	return tool;
}

/* The exporter's descriptors and threads now. */
static void proc_counts(pid_t pid, int *fds, int *threads)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	*fds = count_dir(path);
	*threads = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (getline(&line, &cap, f) > 0)
		if (!strncmp(line, "Threads:", 8))
			*threads = atoi(line + 8);
	free(line);
	fclose(f);
}

/* One scrape: its status (0: no HTTP answer) and milliseconds taken. */
static int scrape(int port, const char *path, long long *ms)
{
	struct http_resp r;
	long long t0 = test_now_ms();
	int rc, status;

	memset(&r, 0, sizeof(r));
	rc = http_request("127.0.0.1", port, "GET", path, HTTP_MS, &r);
	*ms = test_now_ms() - t0;
	status = rc ? 0 : r.status;
	/* Freed whatever the outcome: a reset after a partial answer still
	 * leaves what was read. */
	http_free(&r);
	return status;
}

/* The environment for the slow_audit shim: LD_PRELOAD, and (under ASan,
 * whose runtime must come first, which a preload breaks) ASAN_OPTIONS. */
static void shim_env(char *preload, size_t plen, char *asan, size_t alen)
{
	const char *shims = test_env_dir("TEST_SHIMS", "build/tests/shim");
	const char *old = getenv("ASAN_OPTIONS");

	snprintf(preload, plen, "LD_PRELOAD=%s/slow_audit.so", shims);
	snprintf(asan, alen, "ASAN_OPTIONS=%s%sverify_asan_link_order=0", old ? old : "",
		 old && *old ? ":" : "");
}

/* ---- slowloris and silent connections ---- */

struct hostile {
	int port, n_slow, n_silent;
	int *fds;
	int opened;
	volatile int stop;
};

/* Keep the slowloris connections dribbling: one header byte each every
 * 2 s, never the end of the headers. */
static void *dribble(void *arg)
{
	struct hostile *h = arg;

	while (!h->stop) {
		for (int i = 0; i < h->n_slow && !h->stop; i++)
			if (h->fds[i] >= 0 && send(h->fds[i], "a", 1, MSG_NOSIGNAL) < 0) {
				close(h->fds[i]);
				h->fds[i] = -1;
			}
		for (int t = 0; t < 20 && !h->stop; t++)
			sleep_ms(100);
	}
	return NULL;
}

START_TEST(test_slowloris_and_silent)
{
	enum { SLOW = 500, SILENT = 100, SCRAPES = 10 };
	static const char head[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ";
	struct hostile h = { .n_slow = SLOW, .n_silent = SILENT };
	struct bg_proc e;
	pthread_t th;
	long long ms[SCRAPES], worst = 0;
	int ok = 0, fds = 0, threads = 0, max_fds = 0, max_threads = 0;

	exporter_start(&e, &h.port, NULL, (const char *const[]){ "-P", "1", NULL });
	h.fds = calloc(SLOW + SILENT, sizeof(int));
	ck_assert_ptr_nonnull(h.fds);
	for (int i = 0; i < SLOW + SILENT; i++) {
		h.fds[i] = connect_to(h.port);
		if (h.fds[i] >= 0) {
			h.opened++;
			if (i < SLOW)
				(void)!send(h.fds[i], head, sizeof(head) - 1, MSG_NOSIGNAL);
		}
	}
	ck_assert_int_eq(pthread_create(&th, NULL, dribble, &h), 0);
	sleep_ms(500);
	for (int i = 0; i < SCRAPES; i++) {
		int status = scrape(h.port, "/metrics", &ms[i]);

		proc_counts(e.pid, &fds, &threads);
		if (fds > max_fds)
			max_fds = fds;
		if (threads > max_threads)
			max_threads = threads;
		if (status == 200)
			ok++;
		if (ms[i] > worst)
			worst = ms[i];
		fprintf(stderr, "slowloris: scrape %d: status %d in %lld ms (fds %d, threads %d)\n",
			i, status, ms[i], fds, threads);
		sleep_ms(1000);
	}
	h.stop = 1;
	pthread_join(th, NULL);
	for (int i = 0; i < SLOW + SILENT; i++)
		if (h.fds[i] >= 0)
			close(h.fds[i]);
	free(h.fds);
	fprintf(stderr, "slowloris: %d connections opened; %d of %d scrapes 200, worst %lld ms; "
		"at most %d fds, %d threads\n", h.opened, ok, SCRAPES, worst, max_fds, max_threads);
	ck_assert_int_eq(ok, SCRAPES);
	/* Generous: the contract is 2 s on an idle host. */
	ck_assert_int_lt(worst, 10000);
	ck_assert_int_lt(max_threads, 64);
	ck_assert_int_lt(max_fds, 2 * (SLOW + SILENT) + 64);
	exporter_stop_ok(&e);
}
END_TEST

static double metric_value(int port, const char *name);
static double cpu_seconds(pid_t pid);

/* ---- one address holding the connection slots ---- */

/* A TCP socket from 127.0.0.2 connected to 127.0.0.1:port, or -1. */
static int connect_from_other(int port)
{
	struct sockaddr_in from = { .sin_family = AF_INET };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	from.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Keep n_slow slowloris (a header byte every 2 s) and n_silent silent
 * connections open from 127.0.0.2, opening a new one for each the
 * exporter closes (100 every 100 ms at most: the host is shared). */
static void *hog(void *arg)
{
	static const char head[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ";
	struct hostile *h = arg;
	long long next_byte = 0;

	while (!h->stop) {
		bool dribble_now = test_now_ms() >= next_byte;
		int reopened = 0;

		for (int i = 0; i < h->n_slow + h->n_silent && !h->stop; i++) {
			struct pollfd pfd = { .fd = h->fds[i], .events = POLLIN };
			char b[256];

			/* Closed by the exporter: gone, or an answer to drop. */
			if (h->fds[i] >= 0 && poll(&pfd, 1, 0) > 0 &&
			    recv(h->fds[i], b, sizeof(b), MSG_DONTWAIT) <= 0) {
				close(h->fds[i]);
				h->fds[i] = -1;
			}
			if (h->fds[i] >= 0 && i < h->n_slow && dribble_now &&
			    send(h->fds[i], "a", 1, MSG_NOSIGNAL) < 0) {
				close(h->fds[i]);
				h->fds[i] = -1;
			}
			if (h->fds[i] < 0 && reopened++ < 100) {
				h->fds[i] = connect_from_other(h->port);
				if (h->fds[i] < 0)
					continue;
				h->opened++;
				if (i < h->n_slow)
					(void)!send(h->fds[i], head, sizeof(head) - 1, MSG_NOSIGNAL);
			}
		}
		if (dribble_now)
			next_byte = test_now_ms() + 2000;
		sleep_ms(100);
	}
	return NULL;
}

/* One GET /metrics on a kept-alive connection, as Prometheus scrapes:
 * the status (0: closed or no answer within timeout_ms). */
static int scrape_kept_alive(int fd, int timeout_ms)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	long long deadline = test_now_ms() + timeout_ms;
	char *buf = malloc(1 << 20), *end = NULL;
	size_t got = 0, want = 0;
	int status = 0;

	ck_assert_ptr_nonnull(buf);
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1)) {
		free(buf);
		return 0;
	}
	while (got < (1 << 20) - 1 && test_now_ms() < deadline) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, (int)(deadline - test_now_ms())) <= 0)
			break;
		n = recv(fd, buf + got, (1 << 20) - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");

			if (!cl || cl > end)
				break;
			want = (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10);
		}
		if (end && got >= want) {
			status = atoi(buf + 9);
			break;
		}
	}
	free(buf);
	return status;
}

/*
 * Many slow and silent connections from one address (127.0.0.2), more
 * than the exporter has slots (a limit of 300 descriptors leaves 172),
 * reopened as soon as closed: scrapes from another address, on new
 * connections and on one kept alive as Prometheus does, are answered
 * all the same, and the kept-alive one is never closed.
 */
START_TEST(test_one_address_holds_the_slots)
{
	enum { SLOW = 300, SILENT = 100, SCRAPES = 5, SCRAPE_MS = 15000 };
	char progs[600];
	struct hostile h = { .n_slow = SLOW, .n_silent = SILENT };
	struct bg_proc e;
	pthread_t th;
	long long t0, ms, worst = 0, flood_ms;
	int ok = 0, kept_ok = 0, fds = 0, threads = 0, max_fds = 0, max_threads = 0, kept, lines;
	double evicted, cpu;
	char *err;

	snprintf(progs, sizeof(progs), "%s/nofile", test_env_dir("TEST_PROGS", "build/tests/progs"));
	exporter_start(&e, &h.port, (const char *const[]){ progs, "300", NULL },
		       (const char *const[]){ "-P", "1", NULL });
	kept = connect_to(h.port);
	ck_assert_int_ge(kept, 0);
	ck_assert_int_eq(scrape_kept_alive(kept, SCRAPE_MS), 200);
	h.fds = malloc((SLOW + SILENT) * sizeof(int));
	ck_assert_ptr_nonnull(h.fds);
	for (int i = 0; i < SLOW + SILENT; i++)
		h.fds[i] = -1;
	cpu = cpu_seconds(e.pid);
	flood_ms = test_now_ms();
	ck_assert_int_eq(pthread_create(&th, NULL, hog, &h), 0);
	sleep_ms(3000);
	for (int i = 0; i < SCRAPES; i++) {
		int status = scrape(h.port, "/metrics", &ms), kept_status;

		if (ms > worst)
			worst = ms;
		t0 = test_now_ms();
		kept_status = kept >= 0 ? scrape_kept_alive(kept, SCRAPE_MS) : 0;
		proc_counts(e.pid, &fds, &threads);
		max_fds = fds > max_fds ? fds : max_fds;
		max_threads = threads > max_threads ? threads : max_threads;
		fprintf(stderr, "one address: scrape %d: new connection %d in %lld ms, kept-alive "
			"%d in %lld ms (fds %d, threads %d, %d hostile opened)\n", i, status, ms,
			kept_status, test_now_ms() - t0, fds, threads, h.opened);
		ok += status == 200;
		if (kept_status == 200) {
			kept_ok++;
		} else if (kept >= 0) {
			close(kept);
			kept = -1;
		}
		if (status != 200)
			break;
		sleep_ms(1000);
	}
	h.stop = 1;
	pthread_join(th, NULL);
	cpu = cpu_seconds(e.pid) - cpu;
	flood_ms = test_now_ms() - flood_ms;
	for (int i = 0; i < SLOW + SILENT; i++)
		if (h.fds[i] >= 0)
			close(h.fds[i]);
	free(h.fds);
	if (kept >= 0)
		close(kept);
	evicted = metric_value(h.port, "sockaudit_exporter_connections_evicted_total");
	err = bg_stderr(&e);
	lines = count_lines_containing(err, "evicted");
	fprintf(stderr, "one address: %d hostile connections opened in %lld ms; %d of %d new "
		"scrapes 200, worst %lld ms; %d of %d kept-alive; at most %d fds, %d threads; "
		"%.0f evicted, %.2f s of CPU, %d log lines about it\n", h.opened, flood_ms, ok,
		SCRAPES, worst, kept_ok, SCRAPES, max_fds, max_threads, evicted, cpu, lines);
	ck_assert_msg(lines <= 2, "stderr: %s", err);
	free(err);
	ck_assert_int_eq(ok, SCRAPES);
	ck_assert_int_eq(kept_ok, SCRAPES);
	/* Generous: the contract is 2 s on an idle host. */
	ck_assert_int_lt(worst, 10000);
	ck_assert_int_lt(max_threads, 64);
	ck_assert_int_le(max_fds, 300);
	ck_assert_msg(evicted > 0, "evicted %f", evicted);
	exporter_stop_ok(&e);
}
END_TEST

/* ---- a burst of concurrent scrapes ---- */

struct burst {
	int port;
	int status;
	long long ms;
};

static void *burst_one(void *arg)
{
	struct burst *b = arg;

	b->status = scrape(b->port, "/metrics", &b->ms);
	return NULL;
}

/* n scrapes at once; counts of 200, 503, other statuses and no answer. */
static void run_burst(int port, int n, int counts[4], const char *what)
{
	struct burst *b = calloc((size_t)n, sizeof(*b));
	pthread_t *th = calloc((size_t)n, sizeof(*th));
	long long worst = 0;

	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(th);
	memset(counts, 0, 4 * sizeof(int));
	for (int i = 0; i < n; i++) {
		b[i].port = port;
		ck_assert_int_eq(pthread_create(&th[i], NULL, burst_one, &b[i]), 0);
	}
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		if (b[i].status == 200)
			counts[0]++;
		else if (b[i].status == 503)
			counts[1]++;
		else if (b[i].status)
			counts[2]++;
		else
			counts[3]++;
		if (b[i].ms > worst)
			worst = b[i].ms;
	}
	fprintf(stderr, "%s: %d scrapes at once: %d got 200, %d got 503, %d another status, "
		"%d no answer; slowest %lld ms\n", what, n, counts[0], counts[1], counts[2],
		counts[3], worst);
	free(b);
	free(th);
}

/* The value of an unlabelled sample in the exposition, or -1. */
static double metric_value(int port, const char *name)
{
	struct http_resp r;
	double v = -1;
	size_t len = strlen(name);

	if (http_request("127.0.0.1", port, "GET", "/metrics", HTTP_MS, &r)) {
		http_free(&r);
		return -1;
	}
	for (const char *p = r.body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, name, len) && p[len] == ' ')
			v = strtod(p + len + 1, NULL);
	http_free(&r);
	return v;
}

START_TEST(test_burst_every_request_answered)
{
	enum { N = 200 };
	struct bg_proc e;
	int port, counts[8], fds, threads;
	long long ms;

	long idle, after;

	/* Port 1 only: under valgrind an audit of the whole host outlasts
	 * the clients' timeout. */
	exporter_start(&e, &port, NULL, (const char *const[]){ "-P", "1", NULL });
	ck_assert_int_eq(scrape(port, "/metrics", &ms), 200);
	idle = rss_kib(e.pid);
	run_burst(port, N, counts, "burst");
	run_burst(port, N, counts + 4, "burst again");
	sleep_ms(500);
	after = rss_kib(e.pid);
	proc_counts(e.pid, &fds, &threads);
	fprintf(stderr, "burst: after them, %d fds, %d threads, RSS %ld KiB (idle %ld KiB)\n",
		fds, threads, after, idle);
	if (!under_tool(e.pid))
		ck_assert_msg(after < idle + 32 * 1024, "RSS %ld KiB after, %ld KiB idle", after,
			      idle);
	ck_assert_int_eq(counts[3], 0);
	ck_assert_int_eq(counts[2], 0);
	ck_assert_int_gt(counts[0], 0);
	ck_assert_int_lt(threads, 64);
	exporter_stop_ok(&e);
}
END_TEST

/* Slow audits (the slow_audit shim): with --max-requests 3, a burst of
 * 30 gets 503 beyond the scrapes let in, and those let in share one
 * audit, which the shared counter says. */
START_TEST(test_max_requests_and_single_flight)
{
	char preload[600], asan[1200];
	struct bg_proc e;
	int port, counts[4];
	double shared;

	shim_env(preload, sizeof(preload), asan, sizeof(asan));
	exporter_start(&e, &port,
		       (const char *const[]){ "env", preload, asan, "SHIM_AUDIT_DELAY_MS=700", NULL },
		       (const char *const[]){ "-P", "1", "--max-requests", "3", NULL });
	run_burst(port, 30, counts, "max-requests 3");
	ck_assert_int_eq(counts[3], 0);
	ck_assert_int_eq(counts[2], 0);
	ck_assert_int_ge(counts[0], 1);
	ck_assert_int_le(counts[0], 3 * 10);
	ck_assert_int_ge(counts[1], 1);
	shared = metric_value(port, "sockaudit_exporter_scrapes_shared_total");
	fprintf(stderr, "max-requests 3: shared scrapes %.0f\n", shared);
	ck_assert_msg(shared >= 1, "shared %f", shared);
	exporter_stop_ok(&e);
}
END_TEST

/* gzip when Accept-Encoding allows it, identity when it does not (or
 * says q=0). */
START_TEST(test_gzip)
{
	static const struct {
		const char *accept;
		bool gzip;
	} rows[] = {
		{ NULL, false },
		{ "gzip", true },
		{ "deflate, gzip;q=1.0, *;q=0.5", true },
		{ "br, GZIP", true },
		{ "gzip;q=0", false },
		{ "identity", false },
		{ "*", true },
		{ "gzipx", false },
	};
	struct bg_proc e;
	int port;
	size_t plain = 0;

	exporter_start(&e, &port, NULL, (const char *const[]){ "-P", "1", NULL });
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char req[256], buf[64];
		struct http_resp r;
		const char *enc;
		int n = snprintf(req, sizeof(req), "GET /metrics HTTP/1.1\r\nHost: x\r\n%s%s%s"
				 "Connection: close\r\n\r\n", rows[i].accept ? "Accept-Encoding: " : "",
				 rows[i].accept ? rows[i].accept : "", rows[i].accept ? "\r\n" : "");

		ck_assert_int_eq(http_raw("127.0.0.1", port, req, (size_t)n, HTTP_MS, &r), 0);
		ck_assert_int_eq(r.status, 200);
		enc = http_header(&r, "Content-Encoding", buf, sizeof(buf));
		fprintf(stderr, "gzip: Accept-Encoding %s: %s, %zu bytes\n",
			rows[i].accept ? rows[i].accept : "(none)", enc ? enc : "identity",
			r.body_len);
		if (rows[i].gzip) {
			ck_assert_msg(enc && !strcmp(enc, "gzip"), "%s: %s", rows[i].accept, enc);
			ck_assert(r.body_len > 2 && (unsigned char)r.body[0] == 0x1f &&
				  (unsigned char)r.body[1] == 0x8b);
			ck_assert_msg(r.body_len < plain, "%zu gzip, %zu plain", r.body_len, plain);
		} else {
			ck_assert_msg(!enc, "%s: %s", rows[i].accept, enc);
			ck_assert(!strncmp(r.body, "# HELP", 6));
			plain = r.body_len;
		}
		http_free(&r);
	}
	exporter_stop_ok(&e);
}
END_TEST

/* A scrape whose X-Prometheus-Scrape-Timeout-Seconds runs out while
 * the audit (3 s, the slow_audit shim) runs gets 503 before it, and is
 * counted. */
START_TEST(test_scrape_timeout)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n"
				  "X-Prometheus-Scrape-Timeout-Seconds: 1.5\r\n"
				  "Connection: close\r\n\r\n";
	char preload[600], asan[1200];
	struct bg_proc e;
	struct http_resp r;
	long long t0, ms;
	int port;
	double late;

	shim_env(preload, sizeof(preload), asan, sizeof(asan));
	exporter_start(&e, &port,
		       (const char *const[]){ "env", preload, asan, "SHIM_AUDIT_DELAY_MS=3000", NULL },
		       (const char *const[]){ "-P", "1", NULL });
	t0 = test_now_ms();
	ck_assert_int_eq(http_raw("127.0.0.1", port, req, sizeof(req) - 1, HTTP_MS, &r), 0);
	ms = test_now_ms() - t0;
	fprintf(stderr, "scrape timeout 1.5 s, audit 3 s: status %d in %lld ms\n", r.status, ms);
	ck_assert_int_eq(r.status, 503);
	ck_assert_int_lt(ms, 2900);
	ck_assert_int_ge(ms, 500);
	http_free(&r);
	late = metric_value(port, "sockaudit_exporter_scrapes_late_total");
	ck_assert_msg(late == 1, "late %f", late);
	exporter_stop_ok(&e);
}
END_TEST

/* ---- bounded output ---- */

/* The value of `name{pid="PID"...}` in an exposition, or -1. */
static long long proc_value(const char *text, const char *name, const char *pid)
{
	char key[128];
	const char *p;

	snprintf(key, sizeof(key), "%s{pid=\"%s\"", name, pid);
	p = strstr(text, key);
	if (!p)
		return -1;
	p = strchr(p, '}');
	return p ? strtoll(p + 1, NULL, 10) : -1;
}

/* --max-processes: the processes holding most sockets one by one, the
 * rest summed as pid="other"; sockaudit_folded_processes counts them.
 * This process holds a listener and an accepted socket, a child the
 * client side. */
START_TEST(test_max_processes)
{
	static const struct {
		const char *max;
		long long parent, child, other, folded;
	} rows[] = {
		{ NULL, 2, 1, -1, 0 },
		{ "2", 2, 1, -1, 0 },
		{ "1", 2, -1, 1, 1 },
		{ "0", -1, -1, 3, 2 },
	};
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), c, a, pipefd[2], ready[2];
	char b;
	char pids[64], me[16], kid[16];
	pid_t child;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(l, 4), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sa, &len), 0);
	c = connect_to(ntohs(sa.sin_port));
	ck_assert_int_ge(c, 0);
	a = accept(l, NULL, NULL);
	ck_assert_int_ge(a, 0);
	ck_assert_int_eq(pipe(pipefd), 0);
	ck_assert_int_eq(pipe(ready), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		close(l);
		close(a);
		close(pipefd[1]);
		close(ready[0]);
		(void)!write(ready[1], "r", 1);
		/* Hold c until the test closes the pipe. */
		(void)!read(pipefd[0], &b, 1);
		_exit(0);
	}
	close(pipefd[0]);
	close(ready[1]);
	/* The child holds c alone from now on. */
	ck_assert_int_eq(read(ready[0], &b, 1), 1);
	close(ready[0]);
	close(c);
	snprintf(me, sizeof(me), "%d", (int)getpid());
	snprintf(kid, sizeof(kid), "%d", (int)child);
	snprintf(pids, sizeof(pids), "%s,%s", me, kid);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *args[8] = { "--format", "prometheus", "--pid", pids, NULL };
		struct run_result r;
		const char *f;

		if (rows[i].max) {
			args[4] = "--max-processes";
			args[5] = rows[i].max;
		}
		run_sockaudit_v(&r, NULL, args);
		ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.err);
		ck_assert_int_eq(proc_value(r.out, "sockaudit_process_sockets", me), rows[i].parent);
		ck_assert_int_eq(proc_value(r.out, "sockaudit_process_sockets", kid), rows[i].child);
		ck_assert_int_eq(proc_value(r.out, "sockaudit_process_sockets", "other"),
				 rows[i].other);
		f = strstr(r.out, "\nsockaudit_folded_processes ");
		ck_assert_msg(f && atoll(f + 28) == rows[i].folded, "max %s: %s", rows[i].max,
			      f ? f : "no sockaudit_folded_processes");
		run_result_free(&r);
	}
	close(pipefd[1]);
	waitpid(child, NULL, 0);
	close(a);
	close(l);
}
END_TEST

/* ---- out of descriptors ---- */

/* CPU seconds (user + system) the process has used. */
static double cpu_seconds(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	/* After ") ": state is field 3; utime and stime are 14 and 15. */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/*
 * With 24 descriptors, 150 connections held open: those past the
 * connection limit wait (or are refused, counted, the kind logged once)
 * without a line each and without spinning on accept; once they are
 * gone a scrape is served again.
 */
START_TEST(test_out_of_descriptors)
{
	enum { N = 150 };
	char progs[600];
	const char *dir = test_env_dir("TEST_PROGS", "build/tests/progs");
	struct bg_proc e;
	int port, fds[N], opened = 0, lines;
	double cpu0, cpu1, refused;
	long long ms;
	char *err;

	snprintf(progs, sizeof(progs), "%s/nofile", dir);
	/* valgrind (tests/valgrind-sockaudit) keeps descriptors of its own
	 * within the limit. */
	exporter_start(&e, &port,
		       (const char *const[]){ progs, getenv("SOCKAUDIT_BIN") ? "64" : "24", NULL },
		       (const char *const[]){ "-P", "1", NULL });
	cpu0 = cpu_seconds(e.pid);
	for (int i = 0; i < N; i++) {
		fds[i] = connect_to(port);
		opened += fds[i] >= 0;
	}
	sleep_ms(3000);
	cpu1 = cpu_seconds(e.pid);
	for (int i = 0; i < N; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	/* The backlog drains (each closed connection accepted, read, closed). */
	for (int i = 0; i < 20 && scrape(port, "/metrics", &ms) != 200; i++)
		sleep_ms(500);
	ck_assert_int_eq(scrape(port, "/metrics", &ms), 200);
	refused = metric_value(port, "sockaudit_exporter_connections_refused_total");
	err = bg_stderr(&e);
	lines = count_lines(err);
	fprintf(stderr, "few descriptors: %d connections held 3 s: %.2f s of CPU, %d stderr lines, "
		"%.0f refused\n", opened, cpu1 - cpu0, lines, refused);
	ck_assert_msg(lines <= 4, "stderr: %s", err);
	free(err);
	ck_assert_msg(cpu1 - cpu0 < 1.5, "%.2f s of CPU in 3 s", cpu1 - cpu0);
	/* Connections past the limit wait in the backlog: refused only
	 * when the accept itself fails. */
	ck_assert_msg(refused >= 0, "refused %f", refused);
	exporter_stop_ok(&e);
}
END_TEST

/* ---- malformed requests ---- */

/* One answer expected: its status and the start of its Content-Type
 * (NULL: libmicrohttpd's own page, any type).  A negative status: that
 * answer, or a clean close without it. */
struct answer {
	int status;
	const char *type;
};

#define METRICS_TYPE "text/plain; version=0.0.4"
#define MALFORMED_MAX 3

/* A request made at run time into buf; returns its length. */
typedef size_t (*make_req)(char *buf, size_t cap);

/* "GET /uuu... HTTP/1.1": a path of 64 KiB. */
static size_t long_url(char *buf, size_t cap)
{
	size_t n = (size_t)snprintf(buf, cap, "GET /");

	memset(buf + n, 'u', 64 * 1024);
	n += 64 * 1024;
	return n + (size_t)snprintf(buf + n, cap - n, " HTTP/1.1\r\nHost: x\r\n\r\n");
}

/* A scrape with 1,000 small headers. */
static size_t many_headers(char *buf, size_t cap)
{
	size_t n = (size_t)snprintf(buf, cap, "GET /metrics HTTP/1.1\r\nHost: x\r\n");

	for (int i = 0; i < 1000; i++)
		n += (size_t)snprintf(buf + n, cap - n, "X-H%d: v\r\n", i);
	return n + (size_t)snprintf(buf + n, cap - n, "\r\n");
}

/* 32 KiB of NUL bytes: no line ever ends. */
static size_t nul_bytes(char *buf, size_t cap)
{
	(void)cap;
	memset(buf, 0, 32 * 1024);
	return 32 * 1024;
}

/* Every byte value, four times over (line ends among them). */
static size_t all_bytes(char *buf, size_t cap)
{
	(void)cap;
	for (size_t i = 0; i < 1024; i++)
		buf[i] = (char)(i & 0xff);
	return 1024;
}

#define LIT(s) s, sizeof(s) - 1, NULL

/*
 * Each row: bytes sent (a literal or made at run time), then (when
 * half) the write side shut; the answers expected, in order.  Every
 * connection must then be closed by the exporter (answered or not,
 * within its 10 s idle timeout), a row without an answer cleanly (a
 * FIN, not a reset).
 */
static const struct {
	const char *name;
	const char *req;
	size_t len;
	make_req make;
	bool half;
	struct answer want[MALFORMED_MAX];
} malformed[] = {
	{ "HTTP/1.1 without Host", LIT("GET /metrics HTTP/1.1\r\n\r\n"), false,
	  { { 400, "text/plain" } } },
	{ "HTTP/1.0 without Host", LIT("GET / HTTP/1.0\r\n\r\n"), false, { { 200, "text/html" } } },
	{ "HTTP/0.9 /metrics", LIT("GET /metrics\r\n"), false, { { 400, NULL } } },
	{ "HTTP/0.9 /", LIT("GET /\r\n"), false, { { 400, NULL } } },
	{ "HTTP/9.9", LIT("GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n"), false, { { 505, NULL } } },
	{ "not HTTP: a TLS hello",
	  LIT("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 binary\r\n\r\n"), false,
	  { { 400, NULL } } },
	{ "not HTTP: every byte value", NULL, 0, all_bytes, false, { { 400, NULL } } },
	{ "not HTTP: 32 KiB of NUL", NULL, 0, nul_bytes, false, { { 414, NULL } } },
	{ "not HTTP: 100 NUL, then silence", "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	  "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	  "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
	  100, NULL, false, { { 0, NULL } } },
	{ "URL of 64 KiB", NULL, 0, long_url, false, { { 414, NULL } } },
	{ "1,000 headers", NULL, 0, many_headers, false, { { 431, NULL } } },
	/* libmicrohttpd 0.9.75 reads the end of the stream when it resumes
	 * the scrape after its audit, and then closes the connection
	 * without the answer; it does not when the connection is the only
	 * one (test_half_closed_alone). */
	{ "half-closed, among others", LIT("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), true,
	  { { -200, METRICS_TYPE } } },
	{ "half-closed mid-request", LIT("GET /metrics HTTP/1.1\r\nHost: x\r\n"), true,
	  { { 0, NULL } } },
	{ "pipelined", LIT("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n"
			   "Connection: close\r\n\r\n"), false,
	  { { 200, "text/html" }, { 200, METRICS_TYPE } } },
	{ "pipelined, three", LIT("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n"
				  "Host: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n"
				  "Connection: close\r\n\r\n"), false,
	  { { 200, METRICS_TYPE }, { 200, "text/html" }, { 404, "text/plain" } } },
};

#define MALFORMED_N (sizeof(malformed) / sizeof(malformed[0]))

/* How a connection ended. */
enum end { END_OPEN, END_FIN, END_RESET };

/* What came back on one connection. */
struct outcome {
	int fd;
	char *buf;
	size_t got;
	enum end end;
	long long ms;
};

/*
 * The answers in buf, in order: each a status line, headers and
 * Content-Length bytes of body.  Returns how many (at most max) were
 * read whole into got[].
 */
static int parse_answers(const char *buf, size_t len, struct answer got[], char types[][64],
			 int max)
{
	const char *p = buf, *end = buf + len;
	int n = 0;

	while (n < max && end - p > 12 && !strncmp(p, "HTTP/1.", 7)) {
		const char *head_end = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		const char *cl, *ct;
		size_t body;

		if (!head_end)
			break;
		got[n].status = atoi(p + 9);
		cl = memmem(p, (size_t)(head_end - p), "\r\nContent-Length:", 17);
		ct = memmem(p, (size_t)(head_end - p), "\r\nContent-Type:", 15);
		types[n][0] = '\0';
		if (ct)
			snprintf(types[n], 64, "%.*s", (int)strcspn(ct + 16, "\r"), ct + 16);
		got[n].type = types[n];
		body = cl ? strtoul(cl + 17, NULL, 10) : 0;
		if ((size_t)(end - head_end - 4) < body)
			break;
		p = head_end + 4 + body;
		n++;
	}
	return n;
}

/* Read every connection until the exporter closes it or deadline_ms. */
static void read_outcomes(struct outcome *o, size_t n, long long t0, long long deadline_ms)
{
	for (size_t open = n; open && test_now_ms() < deadline_ms;) {
		struct pollfd pfd[MALFORMED_N];

		for (size_t i = 0; i < n; i++) {
			pfd[i].fd = o[i].end == END_OPEN ? o[i].fd : -1;
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, n, 200) <= 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			ssize_t r;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			r = recv(o[i].fd, o[i].buf + o[i].got, (1 << 20) - 1 - o[i].got, 0);
			if (r > 0) {
				o[i].got += (size_t)r;
				continue;
			}
			o[i].end = r == 0 ? END_FIN : END_RESET;
			o[i].ms = test_now_ms() - t0;
			open--;
		}
	}
}

/*
 * All rows at once (two wait for the exporter's idle timeout): the
 * answers each gets, how its connection ends, and a scrape answered
 * after them all.
 */
START_TEST(test_malformed)
{
	static const char *const ends[] = { "still open", "closed", "reset" };
	struct outcome o[MALFORMED_N];
	char *req = malloc(128 * 1024);
	struct bg_proc e;
	long long t0, ms;
	int port;

	ck_assert_ptr_nonnull(req);
	exporter_start(&e, &port, NULL, (const char *const[]){ "-P", "1", NULL });
	t0 = test_now_ms();
	for (size_t i = 0; i < MALFORMED_N; i++) {
		size_t len = malformed[i].make ? malformed[i].make(req, 128 * 1024) : malformed[i].len;
		const char *bytes = malformed[i].make ? req : malformed[i].req;

		memset(&o[i], 0, sizeof(o[i]));
		o[i].buf = malloc(1 << 20);
		ck_assert_ptr_nonnull(o[i].buf);
		o[i].fd = connect_to(port);
		ck_assert_int_ge(o[i].fd, 0);
		/* The exporter may answer and close before all is sent. */
		(void)!send(o[i].fd, bytes, len, MSG_NOSIGNAL);
		if (malformed[i].half)
			shutdown(o[i].fd, SHUT_WR);
	}
	free(req);
	/* The idle timeout is 10 s; generous for a busy host. */
	read_outcomes(o, MALFORMED_N, t0, t0 + 30000);
	for (size_t i = 0; i < MALFORMED_N; i++) {
		struct answer got[MALFORMED_MAX + 1];
		char types[MALFORMED_MAX + 1][64];
		int n = parse_answers(o[i].buf, o[i].got, got, types, MALFORMED_MAX + 1), want = 0;

		while (want < MALFORMED_MAX && malformed[i].want[want].status)
			want++;
		/* An optional answer. */
		if (want == 1 && malformed[i].want[0].status < 0 && n == 0)
			want = 0;
		fprintf(stderr, "malformed: %s: %d answer%s", malformed[i].name, n, n == 1 ? "" : "s");
		for (int k = 0; k < n; k++)
			fprintf(stderr, "%s %d %s", k ? "," : ":", got[k].status, got[k].type);
		fprintf(stderr, " (%zu bytes), %s after %lld ms\n", o[i].got, ends[o[i].end], o[i].ms);
		ck_assert_msg(n == want, "%s: %d answers, want %d: %.300s", malformed[i].name, n,
			      want, o[i].buf);
		for (int k = 0; k < n; k++) {
			const struct answer *w = &malformed[i].want[k];

			ck_assert_msg(got[k].status == abs(w->status),
				      "%s: answer %d: status %d, want %d", malformed[i].name, k + 1,
				      got[k].status, abs(w->status));
			ck_assert_msg(!w->type || !strncmp(got[k].type, w->type, strlen(w->type)),
				      "%s: answer %d: type %s, want %s", malformed[i].name, k + 1,
				      got[k].type, w->type);
		}
		/* Closed by the exporter; without an answer, cleanly. */
		ck_assert_msg(o[i].end != END_OPEN, "%s: still open", malformed[i].name);
		if (!want)
			ck_assert_msg(o[i].end == END_FIN, "%s: reset", malformed[i].name);
		close(o[i].fd);
		free(o[i].buf);
	}
	ck_assert_int_eq(scrape(port, "/metrics", &ms), 200);
	exporter_stop_ok(&e);
}
END_TEST

/*
 * A scrape, then the write side shut at once (as `nc -N` does), on the
 * exporter's only connection: the answer arrives, then the close.
 */
START_TEST(test_half_closed_alone)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	struct answer got[2];
	char types[2][64];
	struct outcome o = { .end = END_OPEN };
	struct bg_proc e;
	long long t0, ms;
	int port, n;

	exporter_start(&e, &port, NULL, (const char *const[]){ "-P", "1", NULL });
	for (int i = 0; i < 5; i++) {
		o.fd = connect_to(port);
		o.got = 0;
		o.end = END_OPEN;
		o.buf = malloc(1 << 20);
		ck_assert_ptr_nonnull(o.buf);
		ck_assert_int_ge(o.fd, 0);
		t0 = test_now_ms();
		ck_assert_int_eq(send(o.fd, req, sizeof(req) - 1, MSG_NOSIGNAL), sizeof(req) - 1);
		shutdown(o.fd, SHUT_WR);
		read_outcomes(&o, 1, t0, t0 + 30000);
		n = parse_answers(o.buf, o.got, got, types, 2);
		fprintf(stderr, "half-closed alone: %d answer%s%s%d, %s after %lld ms\n", n,
			n == 1 ? "" : "s", n ? ": " : " ", n ? got[0].status : 0,
			o.end == END_FIN ? "closed" : o.end == END_RESET ? "reset" : "open", o.ms);
		ck_assert_int_eq(n, 1);
		ck_assert_int_eq(got[0].status, 200);
		ck_assert_msg(o.end == END_FIN, "not closed cleanly");
		close(o.fd);
		free(o.buf);
	}
	ck_assert_int_eq(scrape(port, "/metrics", &ms), 200);
	exporter_stop_ok(&e);
}
END_TEST

/* Huge headers and URLs are refused with a status, the exporter lives on. */
START_TEST(test_huge_requests)
{
	enum { HUGE = 1 << 20 };
	struct bg_proc e;
	struct http_resp r;
	char *req = malloc(HUGE + 256);
	int port, len;
	long long ms;

	ck_assert_ptr_nonnull(req);
	exporter_start(&e, &port, NULL, (const char *const[]){ "-P", "1", NULL });
	/* A URL of 1 MiB. */
	len = snprintf(req, 64, "GET /");
	memset(req + len, 'u', HUGE);
	len += HUGE;
	len += snprintf(req + len, 64, " HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert_int_eq(http_raw("127.0.0.1", port, req, (size_t)len, HTTP_MS, &r), 0);
	fprintf(stderr, "huge: URL of 1 MiB: status %d\n", r.status);
	ck_assert_msg(r.status >= 400 || (r.status == 0 && r.closed), "status %d", r.status);
	http_free(&r);
	/* A header of 1 MiB. */
	len = snprintf(req, 64, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(req + len, 'h', HUGE);
	len += HUGE;
	len += snprintf(req + len, 64, "\r\n\r\n");
	ck_assert_int_eq(http_raw("127.0.0.1", port, req, (size_t)len, HTTP_MS, &r), 0);
	fprintf(stderr, "huge: header of 1 MiB: status %d\n", r.status);
	ck_assert_msg(r.status >= 400 || (r.status == 0 && r.closed), "status %d", r.status);
	http_free(&r);
	free(req);
	ck_assert_int_eq(scrape(port, "/metrics", &ms), 200);
	exporter_stop_ok(&e);
}
END_TEST

static void teardown(void)
{
	bg_cleanup_all();
}

static Suite *hostile_suite(void)
{
	Suite *s = suite_create("exporter_hostile");
	TCase *tc = tcase_create("hostile");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_half_closed_alone);
	tcase_add_test(tc, test_huge_requests);
	tcase_add_test(tc, test_burst_every_request_answered);
	tcase_add_test(tc, test_max_requests_and_single_flight);
	tcase_add_test(tc, test_slowloris_and_silent);
	tcase_add_test(tc, test_one_address_holds_the_slots);
	tcase_add_test(tc, test_gzip);
	tcase_add_test(tc, test_scrape_timeout);
	tcase_add_test(tc, test_max_processes);
	tcase_add_test(tc, test_out_of_descriptors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(hostile_suite());
}
