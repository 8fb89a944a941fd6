/*
 * Helper processes for tests/test_watch.c: socket holders whose counts
 * change over time in a known way.  Each one names itself (comm) after
 * its role, reports on stdout one line at a time (unbuffered), and then
 * runs until it is killed (or, for exit-after, until its time is up).
 *
 *   watch_helper leak-server
 *       listens on 127.0.0.1 (kernel-chosen port), prints "port P", and
 *       accepts forever, never closing what it accepted   (comm wh-leak-srv)
 *   watch_helper leak-client PORT INTERVAL_MS [NOFILE]
 *       sets its soft RLIMIT_NOFILE to NOFILE when given, prints "ready",
 *       then opens one connection to 127.0.0.1:PORT every INTERVAL_MS on a
 *       fixed schedule and never closes it; after each connect prints
 *       "conn SEQ REALTIME_US"                            (comm wh-leak-cli)
 *   watch_helper pool N [LISTENERS]
 *       a listener (or LISTENERS of them) and N loopback connections to
 *       them (both ends held by this process), all set up before it
 *       prints "port P" (the first listener's) and "ready"; nothing
 *       changes afterwards                                (comm wh-pool)
 *   watch_helper fdhog NOFILE PAIRS [EXTRA]
 *       sets its soft RLIMIT_NOFILE to NOFILE, opens PAIRS loopback
 *       connections (both ends held), closes the listener, opens EXTRA
 *       more descriptors that are not sockets (/dev/null), prints
 *       "ready FDS"  (FDS: its open descriptors)          (comm wh-fdhog)
 *   watch_helper exit-after MS
 *       one loopback connection (both ends held), prints "port P" and
 *       "ready", sleeps MS and exits 0                    (comm wh-exiter)
 *   watch_helper unix-server PATH
 *       a UNIX stream listener on PATH; prints "ready", accepts forever
 *       and shuts down writing on each accepted socket, holding it: the
 *       client's end becomes peer_closed                  (comm wh-unix-srv)
 *   watch_helper unix-client PATH INTERVAL_MS
 *       like leak-client, connecting to the UNIX socket PATH
 *                                                         (comm wh-unix-cli)
 *   watch_helper udp-client PORT INTERVAL_MS
 *       like leak-client, with a UDP socket connected to 127.0.0.1:PORT
 *       (no one needs to listen there)                    (comm wh-udp-cli)
 *
 * On any failure it prints "error: ..." and exits 1.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../lib/portcheck.h"

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDOUT_FILENO, line, (size_t)n) < 0)
		_exit(1);
}

static void die(const char *what)
{
	say("error: %s: %s", what, strerror(errno));
	_exit(1);
}

static long number(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		say("error: bad number '%s'", s);
		_exit(1);
	}
	return v;
}

static void set_nofile(long soft)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("getrlimit");
	rl.rlim_cur = (rlim_t)soft;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("setrlimit");
}

/* A listener on 127.0.0.1, port chosen by the kernel. */
/* A listener on 127.0.0.1, on a port the kernel picks and no other
 * socket of the host has (see portcheck.h). */
static int listen_loopback(int *port)
{
	for (int tries = 0; tries < 20; tries++) {
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t len = sizeof(a);
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0)
			die("socket");
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
			die("bind");
		if (getsockname(fd, (struct sockaddr *)&a, &len))
			die("getsockname");
		*port = ntohs(a.sin_port);
		if (port_taken_elsewhere(*port)) {
			close(fd);
			continue;
		}
		if (listen(fd, 1024))
			die("listen");
		return fd;
	}
	errno = EADDRINUSE;
	die("no port of its own");
	return -1;
}

static int connect_loopback_type(int port, int type)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, type, 0);

	if (fd < 0)
		die("socket");
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((unsigned short)port);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	return fd;
}

static int connect_loopback(int port)
{
	return connect_loopback_type(port, SOCK_STREAM);
}

/* A UNIX stream socket address for path. */
static void unix_addr(const char *path, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path)) {
		errno = ENAMETOOLONG;
		die("unix path");
	}
	strcpy(a->sun_path, path);
}

static int connect_unix(const char *path)
{
	struct sockaddr_un a;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	unix_addr(path, &a);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	return fd;
}

/* n connections to our own listener, both ends kept. */
static void open_pairs(int lfd, int port, long n)
{
	for (long i = 0; i < n; i++) {
		connect_loopback(port);
		if (accept(lfd, NULL, NULL) < 0)
			die("accept");
	}
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		die("opendir /proc/self/fd");
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

static void add_ms(struct timespec *t, long ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

enum leak_kind { LEAK_TCP, LEAK_UNIX, LEAK_UDP };

/*
 * Print "ready", then open one connection (TCP or UDP to 127.0.0.1:port,
 * UNIX to path) every interval ms on a fixed schedule, never closing
 * it, printing "conn SEQ REALTIME_US" after each.  Never returns.
 */
static void leak_loop(enum leak_kind kind, const char *path, int port,
		      long interval)
{
	struct timespec next, real;

	say("ready");
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (long seq = 1;; seq++) {
		if (kind == LEAK_UNIX)
			connect_unix(path);
		else
			connect_loopback_type(port, kind == LEAK_UDP ? SOCK_DGRAM :
							  SOCK_STREAM);
		clock_gettime(CLOCK_REALTIME, &real);
		say("conn %ld %lld", seq,
		    (long long)real.tv_sec * 1000000 + real.tv_nsec / 1000);
		add_ms(&next, interval);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next,
				       NULL) == EINTR)
			;
	}
}

static void forever(void)
{
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int port, lfd;

	if (!strcmp(mode, "leak-server") && argc == 2) {
		prctl(PR_SET_NAME, "wh-leak-srv");
		lfd = listen_loopback(&port);
		say("port %d", port);
		for (;;)
			if (accept(lfd, NULL, NULL) < 0 && errno != EINTR)
				die("accept");
	}
	if (!strcmp(mode, "leak-client") && (argc == 4 || argc == 5)) {
		port = (int)number(argv[2], 1, 65535);
		prctl(PR_SET_NAME, "wh-leak-cli");
		if (argc == 5)
			set_nofile(number(argv[4], 16, 1 << 20));
		leak_loop(LEAK_TCP, argv[2], port, number(argv[3], 1, 60000));
	}
	if (!strcmp(mode, "unix-client") && argc == 4) {
		prctl(PR_SET_NAME, "wh-unix-cli");
		leak_loop(LEAK_UNIX, argv[2], 0, number(argv[3], 1, 60000));
	}
	if (!strcmp(mode, "udp-client") && argc == 4) {
		prctl(PR_SET_NAME, "wh-udp-cli");
		leak_loop(LEAK_UDP, argv[2], (int)number(argv[2], 1, 65535),
			  number(argv[3], 1, 60000));
	}
	if (!strcmp(mode, "unix-server") && argc == 3) {
		struct sockaddr_un a;

		prctl(PR_SET_NAME, "wh-unix-srv");
		unix_addr(argv[2], &a);
		lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) ||
		    listen(lfd, 1024))
			die("unix listener");
		say("ready");
		for (;;) {
			int fd = accept(lfd, NULL, NULL);

			if (fd < 0 && errno != EINTR)
				die("accept");
			if (fd >= 0 && shutdown(fd, SHUT_WR))
				die("shutdown");
		}
	}
	if (!strcmp(mode, "pool") && (argc == 3 || argc == 4)) {
		long n = number(argv[2], 0, 5000);
		long nl = argc == 4 ? number(argv[3], 1, 500) : 1;
		int first = 0;

		prctl(PR_SET_NAME, "wh-pool");
		/* n connections spread over nl listeners: 2 * nl groups. */
		for (long l = 0; l < nl; l++) {
			lfd = listen_loopback(&port);
			open_pairs(lfd, port, n / nl + (l < n % nl));
			if (!l)
				first = port;
		}
		say("port %d", first);
		say("ready");
		forever();
	}
	if (!strcmp(mode, "fdhog") && (argc == 4 || argc == 5)) {
		long limit = number(argv[2], 16, 1 << 20);
		long pairs = number(argv[3], 0, 5000);
		long extra = argc == 5 ? number(argv[4], 0, 5000) : 0;

		prctl(PR_SET_NAME, "wh-fdhog");
		set_nofile(limit);
		lfd = listen_loopback(&port);
		open_pairs(lfd, port, pairs);
		close(lfd);
		for (long i = 0; i < extra; i++)
			if (open("/dev/null", O_RDONLY) < 0)
				die("open /dev/null");
		say("ready %d", count_fds());
		forever();
	}
	if (!strcmp(mode, "exit-after") && argc == 3) {
		long ms = number(argv[2], 0, 600000);

		prctl(PR_SET_NAME, "wh-exiter");
		lfd = listen_loopback(&port);
		open_pairs(lfd, port, 1);
		say("port %d", port);
		say("ready");
		{
			struct timespec d = { ms / 1000, (ms % 1000) * 1000000L };

			while (nanosleep(&d, &d) && errno == EINTR)
				;
		}
		return 0;
	}
	say("error: usage: watch_helper leak-server | leak-client PORT INTERVAL_MS "
	    "[NOFILE] | pool N [LISTENERS] | fdhog NOFILE PAIRS [EXTRA] | exit-after MS | "
	    "unix-server PATH | unix-client PATH INTERVAL_MS | udp-client PORT INTERVAL_MS");
	return 1;
}
