/*
 * churn: make a busy host for the tests (make check-busy, scripts/busy).
 *
 *   churn [-f FORKERS] [-p LIVE] [-l LIFE_MS] [-c CONNS] [-H HOGS] [-s SECONDS]
 *
 * FORKERS processes (default 2) each keep LIVE children (default 500)
 * alive, each living a random 0 to LIFE_MS ms (default 100) and then
 * exiting, replaced as soon as it is reaped: thousands of PIDs come and
 * go a second, /proc's list of processes is long and never stands still
 * and, with a small kernel.pid_max, PIDs are reused within seconds.  One
 * more process (unless CONNS is 0) opens and resets up to CONNS loopback
 * connections a second (default 1000) to a listener of its own: the
 * kernel's socket tables change under every dump (no TIME-WAIT is left:
 * SO_LINGER 0).  HOGS processes (default 1) spin on the CPU.  On exit
 * (SIGTERM, SIGINT, SIGHUP, the end of -s SECONDS, or the death of the
 * parent) every process is killed by PID and reaped (the forkers'
 * children die with them and, churn being their subreaper, are reaped
 * too), and one line goes to stderr:
 *
 *   churn: <processes forked> processes in <seconds> s
 *
 * "ready" goes to stdout once every process is started.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCS 64

static volatile sig_atomic_t stop;
static pid_t procs[MAX_PROCS];
static int nprocs;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Fork children forever, counting them in *forked: `live` of them at a
 * time, each living 0-`life_ms` ms (0: exits at once), replaced as soon
 * as one is reaped.
 */
static void __attribute__((noreturn)) forker(volatile unsigned long *forked, int live,
					     int life_ms)
{
	uint32_t seed = (uint32_t)getpid() | 1u; /* xorshift32: any spread will do */
	int running = 0;

	for (;;) {
		pid_t pid;

		if (running >= live) {
			if (waitpid(-1, NULL, 0) > 0) {
				running--;
				__atomic_add_fetch(forked, 1, __ATOMIC_RELAXED);
			}
			continue;
		}
		seed ^= seed << 13;
		seed ^= seed >> 17;
		seed ^= seed << 5;
		pid = fork();
		if (pid == 0) {
			/* Gone with the forker, which is killed by PID. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (life_ms > 0)
				usleep((useconds_t)(seed % (uint32_t)life_ms) * 1000);
			_exit(0);
		}
		if (pid > 0)
			running++;
		else
			usleep(1000); /* EAGAIN: the host is full, let it breathe */
	}
}

/* Reset, not FIN: no TIME-WAIT piles up. */
static void linger0(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

/*
 * Open, accept and reset loopback connections to a listener of our
 * own, at most `rate` a second (in bursts of rate/100 every 10 ms).
 */
static void __attribute__((noreturn)) connector(int rate)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int burst = rate / 100 > 0 ? rate / 100 : 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &len) < 0 || listen(lfd, 128) < 0)
		_exit(1);
	for (;;) {
		for (int i = 0; i < burst; i++) {
			int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), s = -1;

			if (c < 0)
				break;
			linger0(c);
			if (connect(c, (struct sockaddr *)&a, sizeof(a)) == 0)
				s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (s >= 0) {
				linger0(s);
				close(s);
			}
			close(c);
		}
		usleep(10000);
	}
}

static void __attribute__((noreturn)) hog(void)
{
	volatile unsigned long x = 0;

	for (;;)
		x++;
}

/* Start one process: a forker (role 0), a hog (1) or a connector (2,
 * `arg` connections a second). */
static int spawn(int role, volatile unsigned long *forked, pid_t parent, int live,
		 int arg)
{
	pid_t pid;

	if (nprocs == MAX_PROCS)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		if (role == 0)
			forker(forked, live, arg);
		if (role == 2)
			connector(arg);
		hog();
	}
	procs[nprocs++] = pid;
	return 0;
}

static int count(const char *s, const char *what, int max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max) {
		fprintf(stderr, "churn: bad %s '%s' (0-%d)\n", what, s, max);
		exit(2);
	}
	return (int)v;
}

int main(int argc, char **argv)
{
	int forkers = 2, hogs = 1, seconds = 0, live = 500, life_ms = 100, conns = 1000, opt;
	volatile unsigned long *forked;
	struct sigaction sa;
	pid_t self = getpid();
	double t0 = now_s();

	while ((opt = getopt(argc, argv, "f:p:l:c:H:s:")) != -1) {
		switch (opt) {
		case 'f':
			forkers = count(optarg, "forker count", 32);
			break;
		case 'p':
			live = count(optarg, "live children", 5000);
			break;
		case 'l':
			life_ms = count(optarg, "life", 60000);
			break;
		case 'c':
			conns = count(optarg, "connections a second", 100000);
			break;
		case 'H':
			hogs = count(optarg, "hog count", 32);
			break;
		case 's':
			seconds = count(optarg, "seconds", 86400);
			break;
		default:
			fprintf(stderr, "usage: churn [-f FORKERS] [-p LIVE] [-l LIFE_MS] "
				"[-c CONNS] [-H HOGS] [-s SECONDS]\n");
			return 2;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	/* Orphans of the forkers are ours to reap, not init's. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* One counter all forkers add to. */
	forked = mmap(NULL, sizeof(*forked), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (forked == MAP_FAILED) {
		perror("churn: mmap");
		return 1;
	}
	*forked = 0;
	for (int i = 0; i < forkers + hogs && !stop; i++)
		if (spawn(i < forkers ? 0 : 1, forked, self, live > 0 ? live : 1, life_ms) < 0) {
			fprintf(stderr, "churn: fork: %s\n", strerror(errno));
			stop = 2;
		}
	if (conns && !stop && spawn(2, forked, self, 0, conns) < 0) {
		fprintf(stderr, "churn: fork: %s\n", strerror(errno));
		stop = 2;
	}
	if (stop != 2) {
		printf("ready\n");
		fflush(stdout);
	}
	while (!stop && (!seconds || now_s() - t0 < seconds))
		usleep(100000);
	for (int i = 0; i < nprocs; i++)
		kill(procs[i], SIGKILL);
	/* The forkers' children die with them (PR_SET_PDEATHSIG) and come
	 * to us to be reaped: wait until no child is left. */
	for (;;) {
		pid_t w = waitpid(-1, NULL, 0);

		if (w < 0 && errno != EINTR)
			break;
	}
	fprintf(stderr, "churn: %lu processes in %.0f s\n", *forked, now_s() - t0);
	return stop == 2;
}
