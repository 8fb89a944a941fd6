/*
 * LD_PRELOAD shim: the kernel's dump skips one socket, as it does when
 * a socket is removed from the same hash bucket between two pieces of a
 * dump.  The socket whose inode is $SKIP_SOCKET_INODE is left out of
 * the first sock_diag dump that lists it (its message is cut out of the
 * buffer recvmsg() returns) and out of the first read of
 * /proc/.../net/tcp or tcp6 that lists it (fopen() returns a copy of
 * the file without its line).  Later dumps and reads are the kernel's.
 *
 * With $SKIP_SOCKET_COUNT set to a file, one byte is appended to it for
 * every sock_diag request sent and every net/tcp* file opened, '4' for
 * IPv4 and '6' for IPv6: a dump of a namespace is a run of 4s then 6s
 * (more than one of each when a read that raced is read again).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The inode to skip, 0 when unset. */
static unsigned long target(void)
{
	const char *v = getenv("SKIP_SOCKET_INODE");

	return v ? strtoul(v, NULL, 10) : 0;
}

/* Set once the socket has been left out of a dump: only the first. */
static bool skipped;

static void *next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

static bool is_sock_diag(int fd)
{
	int domain = 0, proto = 0;
	socklen_t len = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
		return false;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) < 0)
		return false;
	return domain == AF_NETLINK && proto == NETLINK_SOCK_DIAG;
}

/* Cut the message about inode `ino` out of the n bytes of buf (one
 * iovec as libmnl gives); returns the new length. */
static size_t cut(char *buf, size_t n, unsigned long ino)
{
	size_t off = 0;

	while (off + NLMSG_HDRLEN <= n) {
		struct nlmsghdr *h = (struct nlmsghdr *)(buf + off);
		size_t len = NLMSG_ALIGN(h->nlmsg_len);
		const struct inet_diag_msg *m = NLMSG_DATA(h);

		if (h->nlmsg_len < NLMSG_HDRLEN || off + h->nlmsg_len > n)
			break;
		if (len > n - off)
			len = n - off;
		if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
		    h->nlmsg_len >= NLMSG_LENGTH(sizeof(*m)) && m->idiag_inode == ino) {
			memmove(buf + off, buf + off + len, n - off - len);
			skipped = true;
			return n - len;
		}
		off += len;
	}
	return n;
}

/* One more dump of family '4' or '6' in $SKIP_SOCKET_COUNT, when set. */
static void count_dump(char family)
{
	const char *path = getenv("SKIP_SOCKET_COUNT");
	int fd, err = errno;

	if (!path)
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (write(fd, &family, 1) != 1)
			errno = err;
		close(fd);
	}
	errno = err;
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags,
	       const struct sockaddr *to, socklen_t tolen)
{
	static ssize_t (*real)(int, const void *, size_t, int,
			       const struct sockaddr *, socklen_t);

	if (!real)
		real = (ssize_t (*)(int, const void *, size_t, int,
				    const struct sockaddr *, socklen_t))next("sendto");
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	if (len >= NLMSG_LENGTH(sizeof(struct inet_diag_req_v2)) &&
	    ((const struct nlmsghdr *)buf)->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
	    is_sock_diag(fd)) {
		const struct inet_diag_req_v2 *req = NLMSG_DATA((const struct nlmsghdr *)buf);

		count_dump(req->sdiag_family == AF_INET6 ? '6' : '4');
	}
	return real(fd, buf, len, flags, to, tolen);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	static ssize_t (*real)(int, struct msghdr *, int);
	unsigned long ino = target();
	ssize_t n;

	if (!real)
		real = (ssize_t (*)(int, struct msghdr *, int))next("recvmsg");
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	n = real(fd, msg, flags);
	if (n <= 0 || !ino || skipped || msg->msg_iovlen != 1 ||
	    (size_t)n > msg->msg_iov[0].iov_len || !is_sock_diag(fd))
		return n;
	return (ssize_t)cut(msg->msg_iov[0].iov_base, (size_t)n, ino);
}

/* Whether path is a /proc net/tcp or net/tcp6 file. */
static bool is_proc_tcp(const char *path)
{
	size_t n = strlen(path);

	return (n >= 8 && !strcmp(path + n - 8, "/net/tcp")) ||
	       (n >= 9 && !strcmp(path + n - 9, "/net/tcp6"));
}

/* The inode column of a net/tcp line, 0 for the header. */
static unsigned long line_inode(const char *line)
{
	unsigned long ino = 0;

	if (sscanf(line, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %lu", &ino) != 1)
		return 0;
	return ino;
}

/* A copy of the file f without the line of inode ino, rewound; NULL
 * with errno set on failure. */
static FILE *filtered(FILE *f, unsigned long ino)
{
	FILE *out = tmpfile();
	char *line = NULL;
	size_t cap = 0;

	if (!out)
		return NULL;
	while (getline(&line, &cap, f) > 0) {
		if (!skipped && line_inode(line) == ino) {
			skipped = true;
			continue;
		}
		fputs(line, out);
	}
	free(line);
	if (ferror(f) || fflush(out) || fseek(out, 0, SEEK_SET)) {
		fclose(out);
		errno = EIO;
		return NULL;
	}
	return out;
}

static FILE *open_file(const char *sym, const char *path, const char *mode)
{
	FILE *(*real)(const char *, const char *) =
		(FILE * (*)(const char *, const char *)) next(sym);
	unsigned long ino = target();
	FILE *f, *out;
	int err;

	if (!real) {
		errno = ENOSYS;
		return NULL;
	}
	f = real(path, mode);
	if (f && is_proc_tcp(path))
		count_dump(path[strlen(path) - 1] == '6' ? '6' : '4');
	if (!f || !ino || skipped || !is_proc_tcp(path))
		return f;
	out = filtered(f, ino);
	err = errno;
	fclose(f);
	errno = err;
	return out;
}

FILE *fopen(const char *path, const char *mode)
{
	return open_file("fopen", path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
	return open_file("fopen64", path, mode);
}
