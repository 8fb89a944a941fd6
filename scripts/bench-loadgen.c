/*
 * bench-loadgen — bring up N loopback TCP connections for scripts/bench.
 *
 * The load looks like a host running many small services: P server/client
 * process pairs, each pair with its own listening port (base port + i on
 * 127.0.0.x), each process holding one end of 1/P of the connections
 * (default at most 2,000 per pair, so every process stays far below the
 * 20,000-descriptor limit).  Per pair, by connection index:
 *
 *   close-wait (default 10%)  the client sends 'C', the server closes its
 *                             end: the client socket sits in CLOSE-WAIT
 *                             with its descriptor kept (the classic pool
 *                             leak).  The server sets TCP_LINGER2=1 before
 *                             closing, so its orphaned FIN-WAIT-2 end is
 *                             gone after about a second instead of
 *                             net.ipv4.tcp_fin_timeout (60 s): the table
 *                             is stable as soon as the load is up.
 *                             (Rarely, when the ACK of the server's FIN
 *                             arrives while close() still holds the
 *                             socket, the kernel's FIN-WAIT-2 timer ends
 *                             the orphan with a RST instead: that client
 *                             socket leaves the table and its descriptor
 *                             is a `dead` one for sockaudit.  Seen once
 *                             in 10,000; the same happens with the default
 *                             60 s timeout, only later.)
 *   stalled    (default 2%)   the client sends 1 KiB that the server never
 *                             reads (unread bytes in the server's queue).
 *   idle       (default 30%)  nothing is ever sent.
 *   traffic    (the rest)     one 64-byte request and 256-byte response.
 *
 * With --share K, the client of pair 0 forks K-1 children once its
 * connections are up, which hold every descriptor it holds and do
 * nothing: K processes sharing its sockets (a pre-fork server's workers,
 * or a program that forks without closing its descriptors).
 *
 * Usage: bench-loadgen -n N [-c PER_PAIR] [-b BASE_PORT] [-a ADDRS]
 *                      [--close-wait PCT] [--stalled PCT] [--idle PCT]
 *                      [--share K]
 *                      [--stable-secs S] [--stable-timeout S] [--no-sysctl]
 *
 * When every connection is up and `ss -tanH | wc -l` has stayed put for
 * --stable-secs seconds, it prints one "PAIR ..." line per pair and then
 * "READY ..." on stdout, and holds the load until SIGINT, SIGTERM or
 * SIGHUP, or until its stdin (when a pipe) reaches end of file.  Teardown
 * always kills every process of the load: children get SIGTERM and reset
 * their connections (SO_LINGER 0, so no TIME-WAIT is left behind), then
 * SIGKILL after 10 s; children also die with the parent (PR_SET_PDEATHSIG).
 * The processes are named lg-srv-PORT and lg-cli-PORT (comm); their command
 * line stays bench-loadgen, so `pgrep -f bench-loadgen` finds them all.
 * net.core.somaxconn and net.ipv4.tcp_max_syn_backlog are raised for the
 * run and restored on exit.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REQ_LEN 64
#define RESP_LEN 256
#define STALL_LEN 1024
#define SETUP_TIMEOUT_S 300

enum kind { K_TRAFFIC, K_IDLE, K_CLOSE_WAIT, K_STALLED };

struct pair {
	int listen_fd;
	pid_t server, client;
	char addr[INET_ADDRSTRLEN];
	int port;
	int conns;
	int first; /* the number of its first connection in the whole load */
	int ready;
	int n_close_wait, n_stalled, n_idle, n_traffic;
};

/* What a client reports on the shared pipe (atomic: < PIPE_BUF). */
struct report {
	int pair;
	int ok;
	int n_close_wait, n_stalled, n_idle, n_traffic;
	char err[160];
};

static struct pair *pairs;
static int npairs;
static int pct_close_wait = 10, pct_stalled = 2, pct_idle = 30;
static int share_procs = 1; /* --share: processes holding pair 0's client ends */
static volatile sig_atomic_t got_signal;
static long old_somaxconn = -1, old_synbacklog = -1;
static pid_t parent_pid;
static int child_maxfd = 65536;

static void logmsg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bench-loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "%ld\n", v);
	return fclose(f);
}

#define SOMAXCONN_PATH "/proc/sys/net/core/somaxconn"
#define SYNBACKLOG_PATH "/proc/sys/net/ipv4/tcp_max_syn_backlog"

static void raise_sysctls(long want)
{
	old_somaxconn = read_long(SOMAXCONN_PATH);
	old_synbacklog = read_long(SYNBACKLOG_PATH);
	if (old_somaxconn >= 0 && old_somaxconn < want) {
		if (write_long(SOMAXCONN_PATH, want) != 0)
			logmsg("cannot raise net.core.somaxconn to %ld: %s", want, strerror(errno));
		else
			logmsg("net.core.somaxconn %ld -> %ld for the run", old_somaxconn, want);
	} else {
		old_somaxconn = -1; /* nothing to restore */
	}
	if (old_synbacklog >= 0 && old_synbacklog < want) {
		if (write_long(SYNBACKLOG_PATH, want) != 0)
			logmsg("cannot raise net.ipv4.tcp_max_syn_backlog to %ld: %s", want, strerror(errno));
		else
			logmsg("net.ipv4.tcp_max_syn_backlog %ld -> %ld for the run", old_synbacklog, want);
	} else {
		old_synbacklog = -1;
	}
}

static void restore_sysctls(void)
{
	if (old_somaxconn >= 0) {
		if (write_long(SOMAXCONN_PATH, old_somaxconn) == 0)
			logmsg("net.core.somaxconn restored to %ld", old_somaxconn);
		old_somaxconn = -1;
	}
	if (old_synbacklog >= 0) {
		if (write_long(SYNBACKLOG_PATH, old_synbacklog) == 0)
			logmsg("net.ipv4.tcp_max_syn_backlog restored to %ld", old_synbacklog);
		old_synbacklog = -1;
	}
}

/* Kill every child: SIGTERM (they reset their connections), then SIGKILL. */
static void teardown(void)
{
	int alive = 0;
	double deadline;

	if (getpid() != parent_pid)
		return;
	for (int i = 0; i < npairs; i++) {
		if (pairs[i].server > 0 && kill(pairs[i].server, SIGTERM) == 0)
			alive++;
		if (pairs[i].client > 0 && kill(pairs[i].client, SIGTERM) == 0)
			alive++;
	}
	deadline = now_s() + 10;
	while (alive > 0) {
		pid_t p = waitpid(-1, NULL, WNOHANG);
		if (p > 0) {
			for (int i = 0; i < npairs; i++) {
				if (pairs[i].server == p)
					pairs[i].server = 0;
				if (pairs[i].client == p)
					pairs[i].client = 0;
			}
			alive--;
			continue;
		}
		if (p < 0 && errno == ECHILD)
			break;
		if (now_s() > deadline) {
			logmsg("children still alive after 10 s, sending SIGKILL");
			for (int i = 0; i < npairs; i++) {
				if (pairs[i].server > 0)
					kill(pairs[i].server, SIGKILL);
				if (pairs[i].client > 0)
					kill(pairs[i].client, SIGKILL);
			}
			while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
				;
			break;
		}
		usleep(20000);
	}
	for (int i = 0; i < npairs; i++)
		pairs[i].server = pairs[i].client = 0;
	restore_sysctls();
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bench-loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	teardown();
	exit(1);
}

static void on_parent_signal(int sig)
{
	got_signal = sig;
}

/* Child side: reset every connection (no TIME-WAIT) and exit. */
static void on_child_term(int sig)
{
	struct linger lg = { 1, 0 };
	(void)sig;
	/* Descriptors are not dense after closes: try every one. */
	for (int fd = 3; fd < child_maxfd; fd++)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	_exit(0);
}

static void child_setup(void)
{
	struct sigaction sa;
	int devnull;

	struct rlimit rl;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent_pid)
		_exit(1);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 1048576)
		child_maxfd = (int)rl.rlim_cur;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_child_term;
	sigfillset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		if (devnull > 2)
			close(devnull);
	}
}

/* The kind of connection i of pair p, by its number in the whole load:
 * the shares hold over the load even when a pair has few connections
 * (numbered within the pair, all 5 of a 5-connection pair were the
 * first 10% and so in CLOSE-WAIT). */
static enum kind kind_of(const struct pair *p, int i)
{
	int m = (p->first + i) % 100;
	if (m < pct_close_wait)
		return K_CLOSE_WAIT;
	m -= pct_close_wait;
	if (m < pct_stalled)
		return K_STALLED;
	m -= pct_stalled;
	if (m < pct_idle)
		return K_IDLE;
	return K_TRAFFIC;
}

/* ---- server process ---------------------------------------------------- */

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void server_main(int lfd)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd };
	struct epoll_event evs[256];
	char buf[4096], resp[RESP_LEN];

	memset(resp, 'r', sizeof(resp));
	if (ep < 0)
		_exit(2);
	set_nonblock(lfd);
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			_exit(2);
		}
		for (int k = 0; k < n; k++) {
			int fd = evs[k].data.fd;
			if (fd == lfd) {
				for (;;) {
					int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
					if (c < 0)
						break;
					struct epoll_event cev = { .events = EPOLLIN, .data.fd = c };
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
				}
				continue;
			}
			/* First message decides; read only its first byte. */
			ssize_t r = read(fd, buf, 1);
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
				continue;
			}
			switch (buf[0]) {
			case 'C': {
				int secs = 1;
				setsockopt(fd, IPPROTO_TCP, TCP_LINGER2, &secs, sizeof(secs));
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
				break;
			}
			case 'S':
				/* Never read the rest: it stays in the receive queue. */
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				break;
			case 'Q': {
				ssize_t got = 1;
				while (got < REQ_LEN) {
					r = read(fd, buf, (size_t)(REQ_LEN - got));
					if (r <= 0)
						break;
					got += r;
				}
				/* A failed write: the client notices. */
				(void)!write(fd, resp, sizeof(resp));
				break;
			}
			default:
				/* Rest of a request: discard. */
				while (read(fd, buf, sizeof(buf)) > 0)
					;
				break;
			}
		}
	}
}

/* ---- client process ---------------------------------------------------- */

static void client_report(int wfd, struct report *rep)
{
	if (write(wfd, rep, sizeof(*rep)) != (ssize_t)sizeof(*rep))
		_exit(3);
}

static void client_fail(int wfd, struct report *rep, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rep->err, sizeof(rep->err), fmt, ap);
	va_end(ap);
	rep->ok = 0;
	client_report(wfd, rep);
	_exit(3);
}

/*
 * --share: share_procs - 1 children of this client that hold every
 * descriptor it holds, until they are killed (or it dies).  The report
 * pipe is closed in them so that only the client reports.
 */
static void fork_holders(int wfd, struct report *rep)
{
	pid_t me = getpid();

	for (int k = 1; k < share_procs; k++) {
		pid_t pid = fork();

		if (pid < 0)
			client_fail(wfd, rep, "fork of holder #%d: %s", k, strerror(errno));
		if (pid == 0) {
			if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != me)
				_exit(1);
			close(wfd);
			prctl(PR_SET_NAME, "lg-holder");
			for (;;)
				pause();
		}
	}
}

static void client_main(int idx, int wfd)
{
	struct pair *p = &pairs[idx];
	struct report rep;
	struct sockaddr_in sa;
	int *fds = calloc((size_t)p->conns, sizeof(int));
	int ep, pending = 0;
	char req[REQ_LEN], stall[STALL_LEN], buf[4096];
	struct epoll_event evs[256];
	double deadline = now_s() + SETUP_TIMEOUT_S;

	memset(&rep, 0, sizeof(rep));
	rep.pair = idx;
	if (!fds)
		client_fail(wfd, &rep, "out of memory");
	memset(req, 'q', sizeof(req));
	req[0] = 'Q';
	memset(stall, 's', sizeof(stall));
	stall[0] = 'S';
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)p->port);
	inet_pton(AF_INET, p->addr, &sa.sin_addr);

	for (int i = 0; i < p->conns; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			client_fail(wfd, &rep, "socket #%d: %s", i, strerror(errno));
		while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			if (errno == EINTR)
				continue;
			client_fail(wfd, &rep, "connect #%d to %s:%d: %s", i, p->addr, p->port, strerror(errno));
		}
		set_nonblock(fd);
		fds[i] = fd;
	}

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		client_fail(wfd, &rep, "epoll_create1: %s", strerror(errno));
	for (int i = 0; i < p->conns; i++) {
		struct epoll_event ev = { .data.u32 = (uint32_t)i };
		switch (kind_of(p, i)) {
		case K_CLOSE_WAIT:
			rep.n_close_wait++;
			if (write(fds[i], "C", 1) != 1)
				client_fail(wfd, &rep, "write #%d: %s", i, strerror(errno));
			/* Wait for the server's FIN without reading it. */
			ev.events = EPOLLRDHUP;
			epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
			pending++;
			break;
		case K_STALLED:
			rep.n_stalled++;
			if (write(fds[i], stall, sizeof(stall)) != (ssize_t)sizeof(stall))
				client_fail(wfd, &rep, "write #%d: %s", i, strerror(errno));
			break;
		case K_IDLE:
			rep.n_idle++;
			break;
		case K_TRAFFIC:
			rep.n_traffic++;
			if (write(fds[i], req, sizeof(req)) != (ssize_t)sizeof(req))
				client_fail(wfd, &rep, "write #%d: %s", i, strerror(errno));
			ev.events = EPOLLIN;
			epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
			pending++;
			break;
		}
	}

	/* got[] counts response bytes per traffic connection. */
	int *got = calloc((size_t)p->conns, sizeof(int));
	if (!got)
		client_fail(wfd, &rep, "out of memory");
	while (pending > 0) {
		if (now_s() > deadline)
			client_fail(wfd, &rep, "%d connections still not set up after %d s", pending, SETUP_TIMEOUT_S);
		int n = epoll_wait(ep, evs, 256, 1000);
		if (n < 0 && errno != EINTR)
			client_fail(wfd, &rep, "epoll_wait: %s", strerror(errno));
		for (int k = 0; k < n; k++) {
			int i = (int)evs[k].data.u32;
			if (kind_of(p, i) == K_CLOSE_WAIT) {
				epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
				pending--;
				continue;
			}
			ssize_t r = read(fds[i], buf, sizeof(buf));
			if (r > 0)
				got[i] += (int)r;
			if (r == 0 || (r < 0 && errno != EAGAIN))
				client_fail(wfd, &rep, "connection #%d lost during setup", i);
			if (got[i] >= RESP_LEN) {
				epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
				pending--;
			}
		}
	}
	free(got);
	close(ep);
	if (idx == 0)
		fork_holders(wfd, &rep);
	rep.ok = 1;
	client_report(wfd, &rep);
	close(wfd);
	for (;;)
		pause();
}

/* ---- parent ------------------------------------------------------------ */

/* Count the lines of `ss -tanH`, or -1. */
static long ss_count(void)
{
	FILE *f = popen("ss -tanH 2>/dev/null", "r");
	char buf[65536];
	size_t n;
	long lines = 0;

	if (!f)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		for (size_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	if (pclose(f) != 0)
		return -1;
	return lines;
}

static void usage(FILE *out)
{
	fputs("usage: bench-loadgen -n N [-c PER_PAIR] [-b BASE_PORT] [-a ADDRS]\n"
	      "         [--close-wait PCT] [--stalled PCT] [--idle PCT]\n"
	      "         [--stable-secs S] [--stable-timeout S] [--no-sysctl]\n"
	      "         [--share K]\n"
	      "  -n N              connections in all (default 1000)\n"
	      "  -c PER_PAIR       at most this many per server/client pair (default 2000)\n"
	      "  -b BASE_PORT      pair i listens on BASE_PORT+i (default 20000)\n"
	      "  -a ADDRS          pair i listens on 127.0.0.(1 + i %% ADDRS) (default 1)\n"
	      "  --close-wait PCT  share left in CLOSE-WAIT on the client side (default 10)\n"
	      "  --stalled PCT     share with unread data at the server (default 2)\n"
	      "  --idle PCT        share never used (default 30); the rest: one request each\n"
	      "  --stable-secs S   ss -tanH count must hold S seconds (default 3)\n"
	      "  --stable-timeout S  give up waiting for stability after S s (default 120)\n"
	      "  --no-sysctl       do not raise net.core.somaxconn/tcp_max_syn_backlog\n"
	      "  --share K         K processes hold pair 0's client ends (default 1)\n",
	      out);
}

static int parse_int(const char *s, int lo, int hi, const char *what)
{
	char *end;
	long v;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < lo || v > hi) {
		logmsg("bad %s '%s' (%d..%d)", what, s, lo, hi);
		exit(2);
	}
	return (int)v;
}

int main(int argc, char **argv)
{
	int n = 1000, per_pair = 2000, base_port = 20000, naddrs = 1;
	int stable_secs = 3, stable_timeout = 120, do_sysctl = 1;
	int rpipe[2];
	struct rlimit rl;
	struct sigaction sa;
	struct stat st;
	int watch_stdin;
	static const struct option longopts[] = {
		{ "close-wait", required_argument, NULL, 1 },
		{ "stalled", required_argument, NULL, 2 },
		{ "idle", required_argument, NULL, 3 },
		{ "stable-secs", required_argument, NULL, 4 },
		{ "stable-timeout", required_argument, NULL, 5 },
		{ "no-sysctl", no_argument, NULL, 6 },
		{ "share", required_argument, NULL, 7 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "n:c:b:a:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': n = parse_int(optarg, 1, 10000000, "N"); break;
		case 'c': per_pair = parse_int(optarg, 1, 1000000, "per-pair count"); break;
		case 'b': base_port = parse_int(optarg, 1, 65535, "base port"); break;
		case 'a': naddrs = parse_int(optarg, 1, 254, "address count"); break;
		case 1: pct_close_wait = parse_int(optarg, 0, 100, "close-wait share"); break;
		case 2: pct_stalled = parse_int(optarg, 0, 100, "stalled share"); break;
		case 3: pct_idle = parse_int(optarg, 0, 100, "idle share"); break;
		case 4: stable_secs = parse_int(optarg, 0, 3600, "stable seconds"); break;
		case 5: stable_timeout = parse_int(optarg, 0, 36000, "stable timeout"); break;
		case 6: do_sysctl = 0; break;
		case 7: share_procs = parse_int(optarg, 1, 30000, "sharing processes"); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (pct_close_wait + pct_stalled + pct_idle > 100) {
		logmsg("--close-wait + --stalled + --idle exceed 100%%");
		return 2;
	}

	parent_pid = getpid();
	/* Own process group, so the driver can kill the whole load at once. */
	if (getpgrp() != getpid() && setpgid(0, 0) != 0 && getsid(0) != getpid())
		logmsg("setpgid: %s (continuing)", strerror(errno));

	/* Descriptor budget: raise the soft limit to the hard one. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)per_pair + 64 > rl.rlim_cur) {
			logmsg("-c %d does not fit RLIMIT_NOFILE %llu per process", per_pair,
			       (unsigned long long)rl.rlim_cur);
			return 2;
		}
	}

	/* Ephemeral ports: each pair is its own destination, so it may use the
	 * whole local port range once; the kernel shares a source port across
	 * destinations for connect(). */
	{
		FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
		int lo = 32768, hi = 60999;
		if (f) {
			if (fscanf(f, "%d %d", &lo, &hi) != 2) {
				lo = 32768;
				hi = 60999;
			}
			fclose(f);
		}
		if (per_pair > (hi - lo + 1) - 256) {
			logmsg("-c %d exceeds the ephemeral port range %d-%d for one destination", per_pair, lo, hi);
			return 2;
		}
		if (base_port <= hi && base_port + (n + per_pair - 1) / per_pair > lo)
			logmsg("warning: listening ports %d.. overlap the ephemeral range %d-%d", base_port, lo, hi);
	}

	npairs = (n + per_pair - 1) / per_pair;
	if (base_port + npairs - 1 > 65535) {
		logmsg("%d pairs do not fit above base port %d", npairs, base_port);
		return 2;
	}
	pairs = calloc((size_t)npairs, sizeof(*pairs));
	if (!pairs)
		return 1;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_parent_signal; /* no SA_RESTART: poll returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (do_sysctl)
		raise_sysctls(per_pair + 128 > 4096 ? per_pair + 128 : 4096);

	if (pipe2(rpipe, O_CLOEXEC) != 0)
		die("pipe: %s", strerror(errno));

	double t0 = now_s();
	for (int i = 0; i < npairs; i++) {
		struct pair *p = &pairs[i];
		struct sockaddr_in a;
		int one = 1, fd;

		p->conns = n / npairs + (i < n % npairs);
		p->first = i ? pairs[i - 1].first + pairs[i - 1].conns : 0;
		snprintf(p->addr, sizeof(p->addr), "127.0.0.%u", (unsigned)(1 + i % naddrs) & 0xffu);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket: %s", strerror(errno));
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		inet_pton(AF_INET, p->addr, &a.sin_addr);
		/* base+i, else base+i+k*npairs: unique across pairs. */
		for (int port = base_port + i;; port += npairs) {
			if (port > 65535)
				die("no free listening port for pair %d", i);
			a.sin_port = htons((uint16_t)port);
			if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
				p->port = port;
				break;
			}
			if (errno != EADDRINUSE)
				die("bind %s:%d: %s", p->addr, port, strerror(errno));
		}
		if (listen(fd, p->conns + 64) != 0)
			die("listen: %s", strerror(errno));
		p->listen_fd = fd;

		p->server = fork();
		if (p->server < 0)
			die("fork: %s", strerror(errno));
		if (p->server == 0) {
			char name[16];
			snprintf(name, sizeof(name), "lg-srv-%u", (unsigned)p->port & 0xffffu);
			prctl(PR_SET_NAME, name);
			child_setup();
			close(rpipe[0]);
			close(rpipe[1]);
			server_main(fd);
		}
		p->client = fork();
		if (p->client < 0)
			die("fork: %s", strerror(errno));
		if (p->client == 0) {
			char name[16];
			snprintf(name, sizeof(name), "lg-cli-%u", (unsigned)p->port & 0xffffu);
			prctl(PR_SET_NAME, name);
			child_setup();
			close(fd);
			close(rpipe[0]);
			client_main(i, rpipe[1]);
		}
		close(fd);
		p->listen_fd = -1;
	}
	close(rpipe[1]);

	watch_stdin = fstat(0, &st) == 0 && S_ISFIFO(st.st_mode);

	/* Wait for every client to report. */
	int ready = 0, cw = 0;
	while (ready < npairs) {
		struct pollfd pfd = { .fd = rpipe[0], .events = POLLIN };
		struct report rep;
		int pr = poll(&pfd, 1, 1000);
		if (got_signal)
			die("signal %d during set-up, tearing down", (int)got_signal);
		pid_t dead = waitpid(-1, NULL, WNOHANG);
		if (dead > 0)
			die("process %d of the load died during set-up", (int)dead);
		if (pr <= 0)
			continue;
		ssize_t r = read(rpipe[0], &rep, sizeof(rep));
		if (r == 0)
			die("every client exited before reporting");
		if (r != (ssize_t)sizeof(rep))
			continue;
		if (rep.pair < 0 || rep.pair >= npairs)
			die("bad report");
		if (!rep.ok)
			die("pair %d: %s", rep.pair, rep.err);
		struct pair *p = &pairs[rep.pair];
		p->ready = 1;
		p->n_close_wait = rep.n_close_wait;
		p->n_stalled = rep.n_stalled;
		p->n_idle = rep.n_idle;
		p->n_traffic = rep.n_traffic;
		cw += rep.n_close_wait;
		ready++;
	}
	logmsg("%d connections up in %d pairs after %.1f s (%d in CLOSE-WAIT)", n, npairs, now_s() - t0, cw);

	/* Stable table: the ss count holds (within a small tolerance for other
	 * activity on the host) for stable_secs seconds. */
	{
		long tol = n / 1000 + 2;
		long hist[3600 + 1];
		int have = 0;
		double until = now_s() + stable_timeout;
		for (;;) {
			long cnt = ss_count();
			if (got_signal)
				die("signal %d while waiting for a stable table", (int)got_signal);
			if (waitpid(-1, NULL, WNOHANG) > 0)
				die("a process of the load died");
			if (cnt < 0)
				die("cannot run ss -tanH");
			if (have < stable_secs + 1)
				hist[have++] = cnt;
			else {
				memmove(hist, hist + 1, (size_t)stable_secs * sizeof(long));
				hist[stable_secs] = cnt;
			}
			if (have == stable_secs + 1) {
				long mn = hist[0], mx = hist[0];
				for (int k = 1; k < have; k++) {
					mn = hist[k] < mn ? hist[k] : mn;
					mx = hist[k] > mx ? hist[k] : mx;
				}
				if (mx - mn <= tol) {
					logmsg("socket table stable at %ld lines (ss -tanH) after %.1f s", cnt, now_s() - t0);
					break;
				}
			}
			if (now_s() > until) {
				logmsg("warning: socket table not stable after %d s (last count %ld), going on", stable_timeout, cnt);
				break;
			}
			sleep(1);
		}
	}

	for (int i = 0; i < npairs; i++) {
		struct pair *p = &pairs[i];
		printf("PAIR %d server_pid=%d client_pid=%d addr=%s port=%d conns=%d close_wait=%d stalled=%d idle=%d traffic=%d\n",
		       i, (int)p->server, (int)p->client, p->addr, p->port, p->conns, p->n_close_wait, p->n_stalled,
		       p->n_idle, p->n_traffic);
	}
	printf("READY n=%d pairs=%d close_wait=%d pgid=%d parent_pid=%d\n", n, npairs, cw, (int)getpgrp(), (int)getpid());
	fflush(stdout);

	/* Hold the load. */
	for (;;) {
		struct pollfd pfd = { .fd = 0, .events = POLLIN };
		int pr = poll(&pfd, watch_stdin ? 1 : 0, 1000);
		if (got_signal) {
			logmsg("signal %d, tearing down", (int)got_signal);
			break;
		}
		pid_t dead = waitpid(-1, NULL, WNOHANG);
		if (dead > 0)
			die("process %d of the load died", (int)dead);
		if (watch_stdin && pr > 0) {
			char b[256];
			ssize_t r = read(0, b, sizeof(b));
			if (r <= 0) {
				logmsg("stdin closed, tearing down");
				break;
			}
		}
	}
	teardown();
	logmsg("load torn down");
	return 0;
}
