/*
 * leaker: a server and a client process on loopback that leak
 * connections in known numbers, for the Prometheus tests.
 *
 *   leaker [-c SERVER_COMM] [-C CLIENT_COMM] [-i IDLE] [-w HANGUPS] [-W]
 *          [-P PEERS] [-l FD_LIMIT]
 *
 * The server (this process) listens on 127.0.0.1 (a kernel-chosen port)
 * and accepts every connection the client (its child) opens:
 *
 *   -i N  N connections nobody ever writes on (both ends ESTABLISHED,
 *         idle after the idle threshold);
 *   -w N  N connections the client hangs up and the server never closes:
 *         N sockets in CLOSE-WAIT on the server's port (the classic leak);
 *   -W    the client hangs them up only on SIGUSR1 (then prints "leaked");
 *   -P N  N more listeners, on 127.0.0.2, 127.0.0.3, ... (at most 200),
 *         the client holding 1 + i % 3 connections to the i-th; for every
 *         fourth peer (i % 4 == 0) the server closes one of them, leaving
 *         the client's end in CLOSE-WAIT: N client-side peers;
 *   -l N  the server's soft RLIMIT_NOFILE.
 *
 * When everything is set up it prints "ready SERVER_PID CLIENT_PID PORT"
 * and both wait to be killed; both die with their parent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/portcheck.h"

#define MAX_PEERS 200
#define MAX_CONNS 4096

enum kind { K_IDLE, K_HANGUP, K_PEER, K_PEER_CLOSED };

struct conn {
	int cfd, sfd;
	enum kind kind;
};

static struct conn conns[MAX_CONNS];
static int nconns;
static int listeners[MAX_PEERS + 1];
static int nlisteners;

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "leaker: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A listener on addr, on a port the kernel picks and no other socket of
 * the host has (see portcheck.h). */
static int listen_on(const char *addr, int *port)
{
	for (int tries = 0; tries < 20; tries++) {
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t len = sizeof(a);
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0 || inet_pton(AF_INET, addr, &a.sin_addr) != 1 ||
		    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
			die("listen");
		*port = ntohs(a.sin_port);
		if (port_taken_elsewhere(*port)) {
			close(fd);
			continue;
		}
		if (listen(fd, 128) < 0)
			die("listen");
		listeners[nlisteners++] = fd;
		return fd;
	}
	die("listen: no port of its own");
	return -1;
}

/* One connection to a listener, accepted at once (so the two ends pair). */
static void connect_to(int lfd, const char *addr, int port, enum kind kind)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct conn *c;

	if (nconns == MAX_CONNS) {
		errno = E2BIG;
		die("too many connections");
	}
	c = &conns[nconns++];
	inet_pton(AF_INET, addr, &a.sin_addr);
	c->cfd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->cfd < 0 || connect(c->cfd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	c->sfd = accept(lfd, NULL, NULL);
	if (c->sfd < 0)
		die("accept");
	c->kind = kind;
}

static int count(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s < '0' || *s > '9' || *end || v > MAX_CONNS) {
		fprintf(stderr, "leaker: bad number '%s'\n", s);
		exit(2);
	}
	return (int)v;
}

int main(int argc, char **argv)
{
	const char *scomm = "leak-srv", *ccomm = "leak-cli";
	int idle = 0, hangups = 0, peers = 0, wait_signal = 0, port, lfd, c;
	long fd_limit = -1;
	int sync[2];
	sigset_t usr1;
	pid_t child;
	char ok;

	while ((c = getopt(argc, argv, "c:C:i:w:WP:l:")) != -1) {
		switch (c) {
		case 'c': scomm = optarg; break;
		case 'C': ccomm = optarg; break;
		case 'i': idle = count(optarg); break;
		case 'w': hangups = count(optarg); break;
		case 'W': wait_signal = 1; break;
		case 'P': peers = count(optarg); break;
		case 'l': fd_limit = count(optarg); break;
		default: return 2;
		}
	}
	if (peers > MAX_PEERS)
		return 2;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, scomm);
	if (fd_limit >= 0) {
		struct rlimit rl;

		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = (rlim_t)fd_limit;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			die("setrlimit");
	}
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);

	lfd = listen_on("127.0.0.1", &port);
	for (int i = 0; i < idle; i++)
		connect_to(lfd, "127.0.0.1", port, K_IDLE);
	for (int i = 0; i < hangups; i++)
		connect_to(lfd, "127.0.0.1", port, K_HANGUP);
	for (int i = 0; i < peers; i++) {
		char addr[32];
		int pport, pfd;

		snprintf(addr, sizeof(addr), "127.0.0.%d", 2 + i);
		pfd = listen_on(addr, &pport);
		for (int j = 0; j <= i % 3; j++)
			connect_to(pfd, addr, pport,
				   i % 4 == 0 && j == 0 ? K_PEER_CLOSED : K_PEER);
	}

	if (pipe(sync) < 0)
		die("pipe");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		int sig;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, ccomm);
		close(sync[0]);
		for (int i = 0; i < nlisteners; i++)
			close(listeners[i]);
		for (int i = 0; i < nconns; i++)
			close(conns[i].sfd);
		if (!wait_signal)
			for (int i = 0; i < nconns; i++)
				if (conns[i].kind == K_HANGUP)
					close(conns[i].cfd);
		if (write(sync[1], "k", 1) != 1)
			die("write");
		if (wait_signal) {
			sigwait(&usr1, &sig);
			for (int i = 0; i < nconns; i++)
				if (conns[i].kind == K_HANGUP)
					close(conns[i].cfd);
			printf("leaked\n");
			fflush(stdout);
		}
		for (;;)
			pause();
	}
	close(sync[1]);
	for (int i = 0; i < nconns; i++) {
		close(conns[i].cfd);
		if (conns[i].kind == K_PEER_CLOSED)
			close(conns[i].sfd);
	}
	if (read(sync[0], &ok, 1) != 1)
		die("client");
	printf("ready %d %d %d\n", (int)getpid(), (int)child, port);
	fflush(stdout);
	for (;;)
		pause();
}
