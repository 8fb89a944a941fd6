/*
 * bigload: hold N idle TCP connections on loopback for test_bigdump.
 *
 *   bigload -n CONNECTIONS [-c PER_PAIR]
 *
 * The load is spread over server/client process pairs (the hard
 * RLIMIT_NOFILE may be far below 2N): pair i listens on 127.0.0.1 with
 * a kernel-chosen port, its server process accepts PER_PAIR connections
 * and its client process opens them.  Nothing is ever sent, so once set
 * up the socket table does not change: 2N connected sockets and one
 * listener per pair.  Every socket has SO_LINGER {1, 0}, so when a
 * process dies its connections are reset and leave no TIME-WAIT behind.
 *
 * On stdout, when every connection is accepted:
 *
 *   PAIR <i> <port> <server pid> <client pid> <connections>   (one a pair)
 *   READY <pairs> <connections>
 *
 * Then it reads commands on stdin: "drop <i>" kills pair i, reaps both
 * processes and answers "DROPPED <i>".  End of file on stdin, SIGTERM,
 * SIGINT, SIGHUP, the death of its parent (PR_SET_PDEATHSIG) or of a
 * process of the load tear the whole load down: every process is killed
 * by PID and reaped.  The processes die with bigload, too.  Errors go to
 * stderr as "bigload: ..." and exit status 1 (after the teardown).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/portcheck.h"

#define SETUP_TIMEOUT_MS (300 * 1000)
/* Descriptors a load process needs besides its connections. */
#define FD_SPARE 32

struct pair {
	int port;
	int conns;
	pid_t server, client;
	int ready; /* reports received: 2 when both are done */
};

/* A load process's report on the shared pipe (atomic: < PIPE_BUF). */
struct report {
	int pair;
	int ok;
	char text[120];
};

static struct pair *pairs;
static int npairs;
static pid_t parent_pid;
static volatile sig_atomic_t got_signal;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Kill one process by PID and reap it. */
static void kill_reap(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGKILL);
	while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
		;
	*pid = 0;
}

static void teardown(void)
{
	if (getpid() != parent_pid)
		return;
	/* Signal every process first, so that they exit in parallel. */
	for (int i = 0; i < npairs; i++) {
		if (pairs[i].server > 0)
			kill(pairs[i].server, SIGKILL);
		if (pairs[i].client > 0)
			kill(pairs[i].client, SIGKILL);
	}
	for (int i = 0; i < npairs; i++) {
		kill_reap(&pairs[i].server);
		kill_reap(&pairs[i].client);
	}
}

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	fputs("bigload: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	teardown();
	exit(1);
}

static void on_signal(int sig)
{
	got_signal = sig;
}

/* Reset, not FIN, when the process holding it dies. */
static void linger0(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

static void report(int wfd, int pair, int ok, const char *fmt, ...)
{
	struct report r;
	va_list ap;
	ssize_t n;

	memset(&r, 0, sizeof(r));
	r.pair = pair;
	r.ok = ok;
	va_start(ap, fmt);
	vsnprintf(r.text, sizeof(r.text), fmt, ap);
	va_end(ap);
	do
		n = write(wfd, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
}

/* In a load process: die with bigload, be named, drop stdin/stdout. */
static void child_init(const char *role, int i)
{
	char name[16];
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent_pid)
		_exit(1);
	snprintf(name, sizeof(name), "bl-%s-%d", role, i);
	prctl(PR_SET_NAME, name);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		close(null);
	}
}

static void __attribute__((noreturn)) server_main(int i, int lfd, int wfd)
{
	for (int k = 0; k < pairs[i].conns; k++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0 && errno == EINTR) {
			k--;
			continue;
		}
		if (fd < 0) {
			report(wfd, i, 0, "server %d: accept #%d: %s", i, k, strerror(errno));
			_exit(1);
		}
		linger0(fd);
	}
	report(wfd, i, 1, "server");
	close(wfd);
	for (;;)
		pause();
}

static void __attribute__((noreturn)) client_main(int i, int wfd)
{
	struct sockaddr_in a = { .sin_family = AF_INET };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)pairs[i].port);
	for (int k = 0; k < pairs[i].conns; k++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			report(wfd, i, 0, "client %d: socket #%d: %s", i, k, strerror(errno));
			_exit(1);
		}
		linger0(fd);
		while (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			if (errno == EINTR)
				continue;
			report(wfd, i, 0, "client %d: connect #%d to 127.0.0.1:%d: %s", i, k,
			       pairs[i].port, strerror(errno));
			_exit(1);
		}
	}
	report(wfd, i, 1, "client");
	close(wfd);
	for (;;)
		pause();
}

/* A listener on 127.0.0.1, kernel-chosen port that no other socket of
 * the host has (see portcheck.h), for `conns` connections. */
static int make_listener(int conns, int *port)
{
	for (int tries = 0; tries < 20; tries++) {
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t len = sizeof(a);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (fd < 0)
			die("socket: %s", strerror(errno));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
			die("listener on 127.0.0.1: %s", strerror(errno));
		*port = ntohs(a.sin_port);
		if (port_taken_elsewhere(*port)) {
			close(fd);
			continue;
		}
		/* The kernel caps the backlog at net.core.somaxconn; the
		 * server accepts while the client connects. */
		if (listen(fd, conns) < 0)
			die("listener on 127.0.0.1: %s", strerror(errno));
		linger0(fd);
		return fd;
	}
	die("listener on 127.0.0.1: no port of its own");
	return -1;
}

static int parse_count(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 10000000) {
		fprintf(stderr, "bigload: bad %s '%s'\n", what, s);
		exit(2);
	}
	return (int)v;
}

/* Largest number of connections one process may hold. */
static int fd_budget(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 1000;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1000000)
		return 1000000;
	return (int)rl.rlim_cur - FD_SPARE;
}

/* Wait for both processes of every pair to report. */
static void wait_ready(int rfd)
{
	long long deadline = now_ms() + SETUP_TIMEOUT_MS;
	int done = 0;

	while (done < 2 * npairs) {
		struct pollfd pf = { rfd, POLLIN, 0 };
		struct report r;
		pid_t dead;
		ssize_t n;

		if (got_signal)
			die("signal %d during set-up", (int)got_signal);
		if (now_ms() > deadline)
			die("load not up after %d s", SETUP_TIMEOUT_MS / 1000);
		dead = waitpid(-1, NULL, WNOHANG);
		if (dead > 0)
			die("process %d of the load died during set-up", (int)dead);
		if (poll(&pf, 1, 1000) <= 0)
			continue;
		n = read(rfd, &r, sizeof(r));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(r))
			die("the load processes exited before reporting");
		if (r.pair < 0 || r.pair >= npairs)
			die("bad report from the load");
		if (!r.ok)
			die("%s", r.text);
		pairs[r.pair].ready++;
		done++;
	}
}

/* Serve "drop <i>" commands until end of file on stdin or a signal. */
static void serve(void)
{
	char line[128];
	size_t have = 0;

	for (;;) {
		struct pollfd pf = { 0, POLLIN, 0 };
		char *nl;
		ssize_t n;
		pid_t dead;

		if (got_signal)
			die("signal %d, load torn down", (int)got_signal);
		dead = waitpid(-1, NULL, WNOHANG);
		if (dead > 0)
			die("process %d of the load died", (int)dead);
		if (poll(&pf, 1, 1000) <= 0)
			continue;
		n = read(0, line + have, sizeof(line) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		have += (size_t)n;
		line[have] = '\0';
		while ((nl = strchr(line, '\n')) != NULL) {
			int i;

			*nl = '\0';
			if (sscanf(line, "drop %d", &i) != 1 || i < 0 || i >= npairs)
				die("bad command '%s'", line);
			kill(pairs[i].server, SIGKILL);
			kill(pairs[i].client, SIGKILL);
			kill_reap(&pairs[i].server);
			kill_reap(&pairs[i].client);
			printf("DROPPED %d\n", i);
			fflush(stdout);
			have -= (size_t)(nl + 1 - line);
			memmove(line, nl + 1, have + 1);
		}
		if (have >= sizeof(line) - 1)
			die("command too long");
	}
}

int main(int argc, char **argv)
{
	int n = 0, per_pair = 10000, opt, p[2], budget;
	struct sigaction sa;

	while ((opt = getopt(argc, argv, "n:c:")) != -1) {
		switch (opt) {
		case 'n':
			n = parse_count(optarg, "connection count");
			break;
		case 'c':
			per_pair = parse_count(optarg, "per-pair count");
			break;
		default:
			fprintf(stderr, "usage: bigload -n CONNECTIONS [-c PER_PAIR]\n");
			return 2;
		}
	}
	if (!n || optind != argc) {
		fprintf(stderr, "usage: bigload -n CONNECTIONS [-c PER_PAIR]\n");
		return 2;
	}
	parent_pid = getpid();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The test that started us may die without a word. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);

	budget = fd_budget();
	if (per_pair > budget)
		per_pair = budget;
	if (per_pair < 1)
		die("RLIMIT_NOFILE too low");
	npairs = (n + per_pair - 1) / per_pair;
	pairs = calloc((size_t)npairs, sizeof(*pairs));
	if (!pairs)
		die("out of memory");
	if (pipe2(p, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	for (int i = 0; i < npairs; i++) {
		struct pair *pr = &pairs[i];
		int lfd;

		pr->conns = n / npairs + (i < n % npairs);
		lfd = make_listener(pr->conns, &pr->port);
		fflush(stdout);
		pr->server = fork();
		if (pr->server < 0)
			die("fork: %s", strerror(errno));
		if (pr->server == 0) {
			close(p[0]);
			child_init("srv", i);
			server_main(i, lfd, p[1]);
		}
		pr->client = fork();
		if (pr->client < 0)
			die("fork: %s", strerror(errno));
		if (pr->client == 0) {
			close(p[0]);
			close(lfd); /* only the server holds the listener */
			child_init("cli", i);
			client_main(i, p[1]);
		}
		close(lfd);
	}
	close(p[1]);
	wait_ready(p[0]);
	close(p[0]);
	for (int i = 0; i < npairs; i++)
		printf("PAIR %d %d %d %d %d\n", i, pairs[i].port, (int)pairs[i].server,
		       (int)pairs[i].client, pairs[i].conns);
	printf("READY %d %d\n", npairs, n);
	fflush(stdout);
	serve();
	teardown();
	return 0;
}
