/* Leak reproducers on loopback (see scenario.h). */
#include "scenario.h"
#include "portcheck.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_TIMEOUT_MS 8000

enum msg_type { MSG_SOCK, MSG_READY, MSG_ERROR };

/* One report from a scenario process; smaller than PIPE_BUF, so that
 * writes from several processes never interleave. */
struct scen_msg {
	int type;
	enum scen_proc_id proc;
	pid_t pid;
	struct scen_sock sock;
	char text[160];
};

/* ---- small helpers ---- */

void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

const char *itoa_tmp(long v)
{
	static char ring[16][24];
	static unsigned next;
	char *b = ring[next++ % 16];

	snprintf(b, sizeof(ring[0]), "%ld", v);
	return b;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- inside the scenario processes (no Check calls here) ---- */

static int g_wfd = -1;		   /* the report pipe */
static enum scen_proc_id g_proc;   /* who we are */

static void child_send(const struct scen_msg *m)
{
	ssize_t n;

	do
		n = write(g_wfd, m, sizeof(*m));
	while (n < 0 && errno == EINTR);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
child_fail(const char *fmt, ...)
{
	struct scen_msg m;
	va_list ap;
	int e = errno;

	memset(&m, 0, sizeof(m));
	m.type = MSG_ERROR;
	m.proc = g_proc;
	m.pid = getpid();
	va_start(ap, fmt);
	vsnprintf(m.text, sizeof(m.text) - 40, fmt, ap);
	va_end(ap);
	snprintf(m.text + strlen(m.text), 40, ": %s", strerror(e));
	child_send(&m);
	_exit(1);
}

static void child_ready(void)
{
	struct scen_msg m;

	memset(&m, 0, sizeof(m));
	m.type = MSG_READY;
	m.proc = g_proc;
	m.pid = getpid();
	child_send(&m);
}

static void __attribute__((noreturn)) child_wait_forever(void)
{
	close(g_wfd);
	for (;;)
		pause();
}

static void endpoint_str(const struct sockaddr_storage *ss, char *addr,
			 size_t len, int *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		inet_ntop(AF_INET, &a->sin_addr, addr, (socklen_t)len);
		*port = ntohs(a->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, addr, (socklen_t)len);
		*port = ntohs(a->sin6_port);
	} else {
		addr[0] = '\0';
		*port = 0;
	}
}

/* Describe socket fd for the parent. */
static void describe(int fd, enum scen_role role, struct scen_sock *s)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->role = role;
	s->proc = g_proc;
	s->pid = getpid();
	s->fd = fd;
	if (fstat(fd, &st))
		child_fail("fstat");
	s->inode = (unsigned long)st.st_ino;
	s->uid = (unsigned long)st.st_uid;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl))
		child_fail("getsockname");
	s->family = ss.ss_family;
	endpoint_str(&ss, s->laddr, sizeof(s->laddr), &s->lport);
	sl = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		endpoint_str(&ss, s->raddr, sizeof(s->raddr), &s->rport);
}

static void report(const struct scen_sock *s)
{
	struct scen_msg m;

	memset(&m, 0, sizeof(m));
	m.type = MSG_SOCK;
	m.proc = g_proc;
	m.pid = getpid();
	m.sock = *s;
	child_send(&m);
}

static void report_fd(int fd, enum scen_role role)
{
	struct scen_sock s;

	describe(fd, role, &s);
	report(&s);
}

/* Wait for one of `events` on fd; fail after ms. */
static short wait_event(int fd, short events, int ms, const char *what)
{
	struct pollfd pf = { fd, events, 0 };
	int n;

	do
		n = poll(&pf, 1, ms);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		errno = n == 0 ? ETIMEDOUT : errno;
		child_fail("%s", what);
	}
	return pf.revents;
}

/* Close every descriptor >= 3 except those in keep[]. */
static void close_fds_except(const int *keep, int n)
{
	unsigned lo = 3;

	for (;;) {
		unsigned next = ~0U;

		for (int i = 0; i < n; i++)
			if (keep[i] >= (int)lo && (unsigned)keep[i] < next)
				next = (unsigned)keep[i];
		if (next == ~0U) {
			close_range(lo, ~0U, 0);
			return;
		}
		if (next > lo)
			close_range(lo, next - 1, 0);
		lo = next + 1;
	}
}

/* Common start of every scenario process: die with the parent, take a
 * name, drop inherited descriptors. */
static void child_init(enum scen_proc_id proc, pid_t parent, const char *comm,
		       const int *keep, int nkeep)
{
	g_proc = proc;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	prctl(PR_SET_NAME, comm);
	signal(SIGPIPE, SIG_IGN);
	close_fds_except(keep, nkeep);
}

static void __attribute__((noreturn))
server_main(const struct scenario *sc, int lfd)
{
	int cfd;

	report_fd(lfd, ROLE_LISTENER);
	do
		cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (cfd < 0 && errno == EINTR);
	if (cfd < 0)
		child_fail("accept");
	if (sc->opts.close_listener)
		close(lfd);

	switch (sc->kind) {
	case SCEN_IDLE:
		report_fd(cfd, ROLE_SERVER_CONN);
		/* Accept (and keep) the extra connections, in the order the
		 * client made them; the pending ones come after. */
		for (int i = 0; i < sc->opts.extra_conns; i++) {
			int x;

			do
				x = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			while (x < 0 && errno == EINTR);
			if (x < 0)
				child_fail("accept (extra %d)", i);
		}
		break;
	case SCEN_CLOSE_WAIT:
		if (sc->opts.close_wait_bytes > 0) {
			char buf[4096];
			int n = sc->opts.close_wait_bytes;

			if (n > (int)sizeof(buf))
				n = (int)sizeof(buf);
			memset(buf, 'x', (size_t)n);
			if (write(cfd, buf, (size_t)n) != n)
				child_fail("write");
		}
		/* Hang up; the client keeps its end.  A lingering close
		 * returns once our FIN is acknowledged: our end is then in
		 * FIN-WAIT-2 and stays there while we report. */
		{
			struct linger lg = { 1, 5 };

			if (setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
				child_fail("SO_LINGER");
		}
		if (close(cfd))
			child_fail("close");
		break;
	case SCEN_STALLED: {
		static char buf[SCEN_STALL_BYTES];
		struct scen_sock s;
		long written = 0;
		long long until = mono_ms() + 500;

		memset(buf, 'x', sizeof(buf));
		if (fcntl(cfd, F_SETFL, O_NONBLOCK))
			child_fail("fcntl");
		/* Write what fits; the client never reads, so the rest would
		 * block forever. */
		while (written < SCEN_STALL_BYTES && mono_ms() < until) {
			ssize_t n = write(cfd, buf + written,
					  (size_t)(SCEN_STALL_BYTES - written));

			if (n > 0) {
				written += n;
			} else if (n < 0 && errno == EAGAIN) {
				struct pollfd pf = { cfd, POLLOUT, 0 };

				poll(&pf, 1, 50);
			} else if (n < 0 && errno != EINTR) {
				child_fail("write");
			}
		}
		describe(cfd, ROLE_SERVER_CONN, &s);
		s.written = written;
		report(&s);
		break;
	}
	case SCEN_RESET: {
		struct linger lg = { 1, 0 };

		if (setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
			child_fail("SO_LINGER");
		close(cfd); /* sends RST */
		break;
	}
	case SCEN_SHARED: {
		pid_t self = getpid(), kid;

		report_fd(cfd, ROLE_SERVER_CONN);
		kid = fork();
		if (kid < 0)
			child_fail("fork");
		if (kid == 0) {
			int keep[] = { g_wfd, lfd, cfd };

			child_init(PROC_SERVER2, self, sc->comms[PROC_SERVER2],
				   keep, 3);
			child_ready();
			child_wait_forever();
		}
		break;
	}
	}
	child_ready();
	child_wait_forever();
}

static void __attribute__((noreturn)) client_main(const struct scenario *sc)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct scen_sock s;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (sc->client_family == AF_INET) {
		struct sockaddr_in *a = (void *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)sc->port);
		inet_pton(AF_INET, sc->client_addr, &a->sin_addr);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (void *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)sc->port);
		inet_pton(AF_INET6, sc->client_addr, &a->sin6_addr);
		sl = sizeof(*a);
	}
	if (sc->client_uid >= 0) {
		pid_t parent = getppid();

		if (setresuid((uid_t)sc->client_uid, (uid_t)sc->client_uid,
			      (uid_t)sc->client_uid))
			child_fail("setresuid(%d)", sc->client_uid);
		/* A change of credentials clears the parent-death signal. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
	}
	fd = socket(sc->client_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		child_fail("socket");
	{
		struct sockaddr_storage ls = ss;

		/* Same family and address as the server's, our own port:
		 * the one asked for, else one the kernel picks for bind(),
		 * which no other socket uses and which connect() will not
		 * share with another connection (an autobound port can be
		 * shared by connections to different peers), so that
		 * --port selects this socket alone. */
		if (sc->client_family == AF_INET)
			((struct sockaddr_in *)&ls)->sin_port =
				htons((uint16_t)sc->opts.client_local_port);
		else
			((struct sockaddr_in6 *)&ls)->sin6_port =
				htons((uint16_t)sc->opts.client_local_port);
		if (bind(fd, (struct sockaddr *)&ls, sl))
			child_fail("bind to port %d", sc->opts.client_local_port);
	}
	if (sc->kind == SCEN_STALLED) {
		/* A small receive window, whatever the host's tcp_rmem: what
		 * the server writes cannot all fit, so its send queue is
		 * never empty. */
		int rcvbuf = 16384;

		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)))
			child_fail("SO_RCVBUF");
	}
	if (connect(fd, (struct sockaddr *)&ss, sl))
		child_fail("connect");
	describe(fd, ROLE_CLIENT_CONN, &s);
	for (int i = 0; i < sc->opts.extra_conns + sc->opts.pending_conns; i++) {
		int x = socket(sc->client_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (x < 0 || connect(x, (struct sockaddr *)&ss, sl))
			child_fail("connect (extra %d)", i);
	}

	switch (sc->kind) {
	case SCEN_IDLE:
	case SCEN_SHARED:
		break;
	case SCEN_CLOSE_WAIT:
		/* The server's FIN has arrived: we are in CLOSE-WAIT.  Do not
		 * read it (a leaking client does not). */
		wait_event(fd, POLLRDHUP, 5000, "waiting for the server's FIN");
		break;
	case SCEN_STALLED: {
		int avail = 0;
		long long until = mono_ms() + 5000;

		/* Wait until the data has arrived and stopped growing. */
		wait_event(fd, POLLIN, 5000, "waiting for data");
		for (;;) {
			int now = 0;

			sleep_ms(50);
			if (ioctl(fd, FIONREAD, &now))
				child_fail("FIONREAD");
			if (now == avail && now > 0)
				break;
			avail = now;
			if (mono_ms() > until) {
				errno = ETIMEDOUT;
				child_fail("waiting for the data to settle");
			}
		}
		break;
	}
	case SCEN_RESET: {
		struct sockaddr_storage after;
		socklen_t al = sizeof(after);

		wait_event(fd, POLLERR | POLLHUP, 5000,
			   "waiting for the server's RST");
		if (getsockname(fd, (struct sockaddr *)&after, &al) == 0)
			endpoint_str(&after, s.laddr_after,
				     sizeof(s.laddr_after), &s.lport_after);
		break;
	}
	}
	report(&s);
	if (sc->opts.client_fork) {
		pid_t self = getpid(), kid = fork();

		if (kid < 0)
			child_fail("fork");
		if (kid == 0) {
			int keep[] = { g_wfd, fd };

			child_init(PROC_CLIENT2, self, sc->comms[PROC_CLIENT2], keep, 2);
			child_ready();
			child_wait_forever();
		}
	}
	child_ready();
	child_wait_forever();
}

/* ---- in the test process ---- */

/* Running scenarios, by process group: copies, so that a teardown never
 * reads a test's stack frame. */
#define MAX_RUNNING 16
static struct running {
	pid_t pgid; /* 0: free slot */
	pid_t pids[PROC_COUNT];
} running[MAX_RUNNING];

static struct running *slot_of(pid_t pgid)
{
	for (int i = 0; i < MAX_RUNNING; i++)
		if (running[i].pgid == pgid)
			return &running[i];
	return NULL;
}

static void track(pid_t pgid)
{
	static bool registered;
	struct running *r;

	if (!registered) {
		atexit(scenario_cleanup_all);
		/* Orphans of a killed server (SCEN_SHARED) become our
		 * children, so that we can reap them. */
		prctl(PR_SET_CHILD_SUBREAPER, 1);
		registered = true;
	}
	r = slot_of(0);
	ck_assert_msg(r != NULL, "too many scenarios running");
	memset(r, 0, sizeof(*r));
	r->pgid = pgid;
	r->pids[PROC_SERVER] = pgid;
}

/* Kill a process group and reap every member that is (or becomes, as
 * the orphan of a subreaper) our child. */
static void stop_group(struct running *r)
{
	int st;

	kill(-r->pgid, SIGKILL);
	for (int i = 0; i < PROC_COUNT; i++)
		if (r->pids[i] > 0)
			kill(r->pids[i], SIGKILL);
	for (;;) {
		pid_t w = waitpid(-r->pgid, &st, 0);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
	}
	memset(r, 0, sizeof(*r));
}

/* The first port of the ephemeral range, or -1. */
static int ephemeral_low(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	int lo = -1, hi;

	if (f) {
		if (fscanf(f, "%d %d", &lo, &hi) != 2)
			lo = -1;
		fclose(f);
	}
	return lo;
}

/* A listener on addr, port chosen by the kernel (want == 0) or want.
 * pick: the port was picked for the test (not asked for), so one that
 * another socket has is refused. */
static int make_listener_on(int family, const char *addr, bool v6only, int want,
			    bool pick, int *port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (void *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)want);
		inet_pton(AF_INET, addr, &a->sin_addr);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (void *)&ss;
		int on = v6only;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)want);
		inet_pton(AF_INET6, addr, &a->sin6_addr);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
		sl = sizeof(*a);
	}
	if (bind(fd, (struct sockaddr *)&ss, sl)) {
		close(fd);
		return -1;
	}
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		close(fd);
		return -1;
	}
	*port = family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
				  : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	/* A port another socket of the host has (see portcheck.h) is not
	 * the scenario's alone: make_listener tries another. */
	if (pick && port_taken_elsewhere(*port)) {
		close(fd);
		errno = EADDRINUSE;
		return -1;
	}
	if (listen(fd, 128)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int make_listener(int family, const char *addr, bool v6only, bool low,
			 int *port)
{
	int lo = ephemeral_low(), fd = -1;

	for (int tries = 0; !low && tries < 20 && fd < 0; tries++)
		fd = make_listener_on(family, addr, v6only, 0, true, port);
	if (!low)
		return fd;
	if (lo < 2048) {
		errno = ERANGE;
		return -1;
	}
	/* A random port in the 1000 below the ephemeral range. */
	srandom((unsigned)getpid() ^ (unsigned)mono_ms());
	for (int tries = 0; tries < 200 && fd < 0; tries++)
		fd = make_listener_on(family, addr, v6only, lo - 1 - (int)(random() % 1000), true,
				      port);
	return fd;
}

void scenario_start(struct scenario *sc, enum scen_kind kind, int family,
		    const char *tag)
{
	struct scen_opts o = { .v4mapped = false, .client_uid = -1 };

	scenario_start_opts(sc, kind, family, tag, &o);
}

void scenario_start_opts(struct scenario *sc, enum scen_kind kind, int family,
			 const char *tag, const struct scen_opts *o)
{
	static const char *const suffix[PROC_COUNT] = { "srv", "cli", "sr2", "cl2" };
	int p[2], lfd, want_ready, got_ready = 0;
	pid_t self = getpid(), pid;
	long long deadline;
	char errtext[256] = "";

	memset(sc, 0, sizeof(*sc));
	sc->kind = kind;
	sc->family = o->v4mapped ? AF_INET6 : family;
	sc->addr = o->v4mapped ? "::ffff:127.0.0.1" : family == AF_INET ? "127.0.0.1" : "::1";
	sc->client_family = o->v4mapped ? AF_INET : family;
	sc->client_addr = o->v4mapped ? "127.0.0.1" : sc->addr;
	sc->client_uid = o->client_uid;
	sc->opts = *o;
	for (int i = 0; i < PROC_COUNT; i++)
		snprintf(sc->comms[i], sizeof(sc->comms[i]), "%.6s-%s", tag,
			 suffix[i]);

	ck_assert_msg(pipe2(p, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
	if (o->listen_port > 0)
		lfd = make_listener_on(sc->family, sc->addr, !o->v4mapped,
				       o->listen_port, false, &sc->port);
	else
		lfd = make_listener(sc->family, sc->addr, !o->v4mapped, o->low_port,
				    &sc->port);
	ck_assert_msg(lfd >= 0, "listener on %s: %s", sc->addr, strerror(errno));

	pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int keep[] = { p[1], lfd };

		setpgid(0, 0);
		g_wfd = p[1];
		child_init(PROC_SERVER, self, sc->comms[PROC_SERVER], keep, 2);
		server_main(sc, lfd);
	}
	setpgid(pid, pid);
	sc->pgid = pid;
	sc->pids[PROC_SERVER] = pid;
	sc->running = true;
	track(pid);
	close(lfd); /* the client must not hold the listener */

	pid = fork();
	if (pid == 0) {
		int keep[] = { p[1] };

		setpgid(0, sc->pgid);
		g_wfd = p[1];
		child_init(PROC_CLIENT, self, sc->comms[PROC_CLIENT], keep, 1);
		client_main(sc);
	}
	if (pid > 0) {
		setpgid(pid, sc->pgid);
		sc->pids[PROC_CLIENT] = pid;
		slot_of(sc->pgid)->pids[PROC_CLIENT] = pid;
	}
	close(p[1]);
	ck_assert_msg(pid > 0, "fork: %s", strerror(errno));

	want_ready = 2 + (kind == SCEN_SHARED) + o->client_fork;
	deadline = mono_ms() + READY_TIMEOUT_MS;
	while (got_ready < want_ready && !errtext[0]) {
		struct pollfd pf = { p[0], POLLIN, 0 };
		struct scen_msg m;
		long long left = deadline - mono_ms();
		ssize_t n;

		if (left <= 0) {
			snprintf(errtext, sizeof(errtext),
				 "timed out: %d of %d processes ready",
				 got_ready, want_ready);
			break;
		}
		if (poll(&pf, 1, (int)left) <= 0)
			continue;
		n = read(p[0], &m, sizeof(m));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(m)) {
			snprintf(errtext, sizeof(errtext),
				 "a scenario process died (%d of %d ready)",
				 got_ready, want_ready);
			break;
		}
		switch (m.type) {
		case MSG_SOCK:
			if (sc->nsocks < SCEN_MAX_SOCKS)
				sc->socks[sc->nsocks++] = m.sock;
			break;
		case MSG_READY:
			sc->pids[m.proc] = m.pid;
			slot_of(sc->pgid)->pids[m.proc] = m.pid;
			got_ready++;
			break;
		default:
			snprintf(errtext, sizeof(errtext), "%s: %s",
				 sc->comms[m.proc], m.text);
		}
	}
	close(p[0]);
	if (errtext[0]) {
		scenario_stop(sc);
		ck_abort_msg("scenario %s: %s", tag, errtext);
	}
}

const struct scen_sock *scenario_sock(const struct scenario *sc,
				      enum scen_role role)
{
	for (int i = 0; i < sc->nsocks; i++)
		if (sc->socks[i].role == role)
			return &sc->socks[i];
	return NULL;
}

/* Whether pid is gone or a zombie (its descriptors are closed). */
static bool proc_finished(pid_t pid)
{
	char path[64], buf[256], *rp;
	FILE *f;
	bool done = true;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	if (fgets(buf, sizeof(buf), f) && (rp = strrchr(buf, ')')))
		done = rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
	else
		done = false;
	fclose(f);
	return done;
}

void scenario_kill(struct scenario *sc, enum scen_proc_id proc)
{
	pid_t pid = sc->pids[proc];
	long long deadline = mono_ms() + 5000;
	int st;

	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	if (waitpid(pid, &st, 0) != pid) {
		/* Not our child (SCEN_SHARED's second server): wait until it
		 * is at least a zombie. */
		while (!proc_finished(pid) && mono_ms() < deadline)
			sleep_ms(5);
	}
	sc->pids[proc] = 0;
	if (slot_of(sc->pgid))
		slot_of(sc->pgid)->pids[proc] = 0;
}

void scenario_stop(struct scenario *sc)
{
	struct running *r;

	if (!sc->running)
		return;
	r = slot_of(sc->pgid);
	if (r)
		stop_group(r);
	for (int i = 0; i < PROC_COUNT; i++)
		sc->pids[i] = 0;
	sc->running = false;
}

void scenario_cleanup_all(void)
{
	for (int i = 0; i < MAX_RUNNING; i++)
		if (running[i].pgid)
			stop_group(&running[i]);
}
