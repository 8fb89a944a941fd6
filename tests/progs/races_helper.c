/*
 * races_helper: processes for tests/test_races.c.
 *
 *   races_helper brief DELAY_US [zombie]
 *       Forks a child that opens 3 TCP sockets on 127.0.0.1 (a listener,
 *       a client connected to it, the accepted end), prints
 *       "brief PID INODE INODE INODE" and exits DELAY_US microseconds
 *       later.  This process reaps it at once (as a shell would) and
 *       exits; with "zombie" it leaves it unreaped until the test
 *       closes its stdin.
 *
 *   races_helper hold CONNS
 *       Holds a listener on 127.0.0.1, CONNS connections to it (both
 *       ends), and one socket whose connection was reset (a dead
 *       descriptor), with a soft and hard RLIMIT_NOFILE of 4096.  Prints
 *       "hold PID PORT DEAD_INODE FDS" (FDS: its descriptors) and waits
 *       to be killed; it dies with its parent.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/portcheck.h"

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "races_helper: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A listener on 127.0.0.1, on a port no other socket of the host has. */
static int listen_here(int *port)
{
	for (int tries = 0; tries < 20; tries++) {
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t len = sizeof(a);
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
			die("listen");
		*port = ntohs(a.sin_port);
		if (port_taken_elsewhere(*port)) {
			close(fd);
			continue;
		}
		if (listen(fd, 1024) < 0)
			die("listen");
		return fd;
	}
	errno = EADDRINUSE;
	die("listen: no port of its own");
}

static int connect_here(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	return fd;
}

static unsigned long inode_of(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		die("fstat");
	return (unsigned long)st.st_ino;
}

static int brief(long delay_us, int zombie)
{
	int pipefd[2];
	pid_t child;
	char c;

	if (pipe(pipefd) < 0)
		die("pipe");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		struct timespec ts = { delay_us / 1000000, (delay_us % 1000000) * 1000 };
		int port, l, c1, c2;

		close(pipefd[0]);
		l = listen_here(&port);
		c1 = connect_here(port);
		c2 = accept(l, NULL, NULL);
		if (c2 < 0)
			die("accept");
		/* Tell the parent first: it must be waiting before we exit. */
		if (write(pipefd[1], "r", 1) != 1)
			die("write");
		printf("brief %d %lu %lu %lu\n", (int)getpid(), inode_of(l),
		       inode_of(c1), inode_of(c2));
		fflush(stdout);
		nanosleep(&ts, NULL);
		_exit(0);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &c, 1) != 1)
		die("child");
	if (zombie) {
		/* The test closes our stdin once sockaudit is done. */
		while (read(0, &c, 1) > 0)
			;
	}
	if (waitpid(child, NULL, 0) != child)
		die("waitpid");
	return 0;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		die("/proc/self/fd");
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

static int hold(int conns)
{
	struct rlimit rl = { 4096, 4096 };
	struct linger lin = { 1, 0 };
	int port, l, dead, peer;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "races-hold");
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("setrlimit");
	l = listen_here(&port);
	for (int i = 0; i < conns; i++) {
		connect_here(port);
		if (accept(l, NULL, NULL) < 0)
			die("accept");
	}
	/* A connection reset by its peer: the client end is dead. */
	dead = connect_here(port);
	peer = accept(l, NULL, NULL);
	if (peer < 0 || setsockopt(peer, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin)) < 0)
		die("reset");
	close(peer);
	printf("hold %d %d %lu %d\n", (int)getpid(), port, inode_of(dead), count_fds());
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "brief"))
		return brief(strtol(argv[2], NULL, 10), argc > 3 && !strcmp(argv[3], "zombie"));
	if (argc == 3 && !strcmp(argv[1], "hold"))
		return hold(atoi(argv[2]));
	fprintf(stderr, "usage: races_helper brief DELAY_US [zombie] | hold CONNS\n");
	return 2;
}
