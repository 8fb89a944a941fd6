/*
 * kinds_helper: a process holding UDP and UNIX sockets and other
 * descriptors in known numbers, for test_kinds.
 *
 *   kinds_helper DIR [leak-pipes]
 *
 * UDP, on loopback, kernel-chosen ports:
 *   - F: unconnected, a 1-byte receive buffer asked for, flooded with 300
 *     datagrams of 1000 bytes and never read: the kernel drops;
 *   - R: unconnected, reads every datagram (each one as soon as it was
 *     sent, then whatever comes): no drops;
 *   - C4: connected to R over 127.0.0.1; R6 on [::1] and C6 connected to it.
 * UNIX:
 *   - a stream listener on DIR/srv.sock with 3 clients, the server ends of
 *     2 of them closed (their clients peer-closed);
 *   - a stream listener on the abstract name "sockaudit-kinds-PID" with 2
 *     clients;
 *   - a seqpacket pair, a datagram pair, an unbound datagram socket.
 * Others: 3 pipes (6 descriptors), 2 eventfds, /dev/null, DIR/file.
 *
 * When ready it prints "ready PORT_F PORT_R PORT_R6" and reads R until
 * killed; it dies with its parent.  With leak-pipes it also opens one
 * more pipe every 100 ms (up to 200 pipes): a descriptor leak that is no
 * socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "kinds_helper: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A UDP socket bound to loopback of `family`, port chosen by the kernel;
 * its port in *port. */
static int udp_bound(int family, int *port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int s = socket(family, SOCK_DGRAM, 0);

	if (s < 0)
		die("socket");
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
	}
	if (bind(s, (struct sockaddr *)&ss, len) < 0)
		die("bind udp");
	if (getsockname(s, (struct sockaddr *)&ss, &len) < 0)
		die("getsockname");
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
					  ((struct sockaddr_in6 *)&ss)->sin6_port);
	return s;
}

/* A UDP socket connected to loopback:port. */
static int udp_connected(int family, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int s = socket(family, SOCK_DGRAM, 0);

	if (s < 0)
		die("socket");
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a->sin_port = htons((uint16_t)port);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons((uint16_t)port);
		len = sizeof(*a);
	}
	if (connect(s, (struct sockaddr *)&ss, len) < 0)
		die("connect udp");
	return s;
}

/* A UNIX stream listener on `name` (abstract when abstract is set). */
static int unix_listener(const char *name, int abstract, struct sockaddr_un *sa,
			 socklen_t *len)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	size_t n = strlen(name);

	if (s < 0)
		die("socket unix");
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path + (abstract ? 1 : 0), name, n);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (abstract ? 1 : 0));
	if (bind(s, (struct sockaddr *)sa, *len) < 0 || listen(s, 16) < 0)
		die("bind unix");
	return s;
}

/* Connect a client to listener l at sa; the accepted end in *server. */
static int unix_client(int l, const struct sockaddr_un *sa, socklen_t len,
		       int *server)
{
	int c = socket(AF_UNIX, SOCK_STREAM, 0);

	if (c < 0 || connect(c, (const struct sockaddr *)sa, len) < 0)
		die("connect unix");
	*server = accept(l, NULL, NULL);
	if (*server < 0)
		die("accept");
	return c;
}

int main(int argc, char **argv)
{
	char buf[1000], path[512], abstract[64];
	struct sockaddr_in to;
	struct sockaddr_un sa;
	socklen_t salen;
	int f, r, r6, pf, pr, pr6, send_s, l, la, srv, pair[2], p[2], i, one = 1;

	int leak = 0, leaked = 0;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: kinds_helper DIR [leak-pipes]\n");
		return 2;
	}
	leak = argc == 3 && !strcmp(argv[2], "leak-pipes");
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	(void)one;

	f = udp_bound(AF_INET, &pf);
	i = 1;
	if (setsockopt(f, SOL_SOCKET, SO_RCVBUF, &i, sizeof(i)) < 0)
		die("SO_RCVBUF");
	r = udp_bound(AF_INET, &pr);
	r6 = udp_bound(AF_INET6, &pr6);
	send_s = socket(AF_INET, SOCK_DGRAM, 0);
	if (send_s < 0)
		die("socket");
	memset(buf, 'x', sizeof(buf));
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < 300; i++) {
		to.sin_port = htons((uint16_t)pf);
		(void)sendto(send_s, buf, sizeof(buf), 0, (struct sockaddr *)&to, sizeof(to));
		to.sin_port = htons((uint16_t)pr);
		if (sendto(send_s, buf, sizeof(buf), 0, (struct sockaddr *)&to,
			   sizeof(to)) < 0 ||
		    recv(r, buf, sizeof(buf), 0) < 0)
			die("udp echo");
	}
	close(send_s);
	(void)udp_connected(AF_INET, pr);
	(void)udp_connected(AF_INET6, pr6);
	(void)r6; /* held open, as the others */

	snprintf(path, sizeof(path), "%s/srv.sock", argv[1]);
	unlink(path);
	l = unix_listener(path, 0, &sa, &salen);
	for (i = 0; i < 3; i++) {
		(void)unix_client(l, &sa, salen, &srv);
		if (i < 2)
			close(srv);
	}
	snprintf(abstract, sizeof(abstract), "sockaudit-kinds-%d", (int)getpid());
	la = unix_listener(abstract, 1, &sa, &salen);
	for (i = 0; i < 2; i++)
		(void)unix_client(la, &sa, salen, &srv);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair) < 0 ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, pair) < 0 ||
	    socket(AF_UNIX, SOCK_DGRAM, 0) < 0)
		die("socketpair");

	for (i = 0; i < 3; i++)
		if (pipe(p) < 0)
			die("pipe");
	if (eventfd(0, 0) < 0 || eventfd(0, 0) < 0)
		die("eventfd");
	if (open("/dev/null", O_RDONLY) < 0)
		die("/dev/null");
	snprintf(path, sizeof(path), "%s/file", argv[1]);
	if (open(path, O_RDWR | O_CREAT, 0600) < 0)
		die("file");

	printf("ready %d %d %d\n", pf, pr, pr6);
	fflush(stdout);
	for (;;) {
		struct pollfd pfd = { .fd = r, .events = POLLIN };

		if (poll(&pfd, 1, leak ? 100 : -1) > 0)
			(void)recv(r, buf, sizeof(buf), MSG_DONTWAIT);
		if (leak && leaked < 200 && pipe(p) == 0)
			leaked++;
	}
}
