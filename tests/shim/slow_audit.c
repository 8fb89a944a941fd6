/*
 * LD_PRELOAD shim: every audit is slow.  Each socket(AF_NETLINK, *,
 * NETLINK_SOCK_DIAG) (one per dump; an audit may dump twice) first
 * appends a line with the calling thread's id to the file
 * SHIM_AUDIT_MARK (when set), so a test can see that an audit has begun
 * and, the exporter auditing on each connection's thread, which threads
 * audited; then it sleeps SHIM_AUDIT_DELAY_MS milliseconds; then it is
 * the real socket().  Every other socket is untouched.  BPF is denied
 * (deny_bpf.h) so that every audit dumps with netlink and is marked.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "deny_bpf.h"
#include <time.h>
#include <unistd.h>

static void mark(void)
{
	const char *path = getenv("SHIM_AUDIT_MARK");
	int fd;

	if (!path)
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		char line[32];
		int n = snprintf(line, sizeof(line), "%ld\n", (long)gettid());

		if (write(fd, line, (size_t)n) != n) {
			/* the test sees a missing mark and says so */
		}
		close(fd);
	}
}

static void delay(void)
{
	const char *ms = getenv("SHIM_AUDIT_DELAY_MS");
	long v = ms ? atol(ms) : 0;
	struct timespec d = { v / 1000, (v % 1000) * 1000000L };

	while (v > 0 && nanosleep(&d, &d) && errno == EINTR)
		;
}

int socket(int domain, int type, int protocol)
{
	static int (*real_socket)(int, int, int);

	if (domain == AF_NETLINK && protocol == NETLINK_SOCK_DIAG) {
		int saved = errno;

		mark();
		delay();
		errno = saved;
	}
	if (!real_socket) {
		real_socket = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
		if (!real_socket) {
			errno = ENOSYS;
			return -1;
		}
	}
	return real_socket(domain, type, protocol);
}
