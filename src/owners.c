/*
 * Owners: walk PROC_ROOT/PID/fd, join "socket:[N]" links to the table by
 * inode, and record TCP descriptors that no source dumped ("dead").
 *
 * Processes come and go while we read: a PID whose directory vanished
 * (ENOENT, ESRCH) is skipped and counted; an fd table we may not read
 * (EACCES, EPERM) is counted for one warning by the caller.
 */
#include "owners.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

/* State of the scan of one process. */
struct proc_scan {
	const struct owners_opts *o;
	int procfd;	   /* PROC_ROOT */
	pid_t pid;
	uint32_t proc;	   /* table index, NO_INDEX until first needed */
	int netns_state;   /* 0 unknown, 1 same namespace, -1 other */
	int gone;	   /* the process exited under us */
	int oom;	   /* memory ran out */
	unsigned unchecked; /* dead candidates whose state was not read */
};

static int is_vanished(int err)
{
	return err == ENOENT || err == ESRCH;
}

/* A name made only of digits (a PID or an fd number), as an int. */
static int numeric_name(const char *s, int *out)
{
	long v = 0;

	if (!*s)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = v * 10 + (*s - '0');
		if (v > INT32_MAX)
			return 0;
	}
	*out = (int)v;
	return 1;
}

/* Read PID/comm without its newline.  Returns its length or -errno. */
static ssize_t read_comm(int procfd, pid_t pid, char *buf, size_t size)
{
	char path[32];
	ssize_t n;
	int fd, err;

	snprintf(path, sizeof(path), "%d/comm", (int)pid);
	fd = openat(procfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, size);
	while (n < 0 && errno == EINTR);
	err = errno;
	close(fd);
	if (n < 0)
		return -err;
	/* The kernel ends the name with one newline; a name may itself
	 * hold newlines, so strip only the last byte. */
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	return n;
}

/* The table index of the scanned process, created on first use; NO_INDEX
 * when it exited (ps->gone) or memory ran out. */
static uint32_t proc_index(struct sock_table *t, struct proc_scan *ps)
{
	char comm[64];
	ssize_t n;

	if (ps->proc != NO_INDEX)
		return ps->proc;
	n = read_comm(ps->procfd, ps->pid, comm, sizeof(comm));
	if (n < 0) {
		if (is_vanished((int)-n))
			ps->gone = 1;
		n = 0; /* no name, but the descriptors were read */
		if (ps->gone)
			return NO_INDEX;
	}
	ps->proc = table_add_proc(t, ps->pid, comm, (size_t)n);
	if (ps->proc == NO_INDEX)
		ps->oom = 1;
	return ps->proc;
}

unsigned long owners_netns_of(const char *proc_root, pid_t pid)
{
	char path[4096];
	struct stat st;

	if (pid)
		snprintf(path, sizeof(path), "%s/%d/ns/net", proc_root, (int)pid);
	else
		snprintf(path, sizeof(path), "%s/self/ns/net", proc_root);
	if (stat(path, &st) < 0)
		return 0;
	return (unsigned long)st.st_ino;
}

int owners_pid_check(const char *proc_root, pid_t pid, pid_t *tgid)
{
	char path[4096], line[128];
	FILE *f;
	int rc = -EPROTO;

	snprintf(path, sizeof(path), "%s/%d/status", proc_root, (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Tgid:", 5) == 0) {
			*tgid = (pid_t)strtol(line + 5, NULL, 10);
			rc = *tgid > 0 ? 0 : -EPROTO;
			break;
		}
	}
	fclose(f);
	return rc;
}

/* The local end of a socket as getsockname gives it, into r.  A socket
 * never bound (port 0) leaves it unknown: null, not 0.0.0.0:0. */
static void local_end(int sock, struct sock_rec *r)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getsockname(sock, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET && r->family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

		if (!in->sin_port)
			return;
		memcpy(r->laddr, &in->sin_addr, 4);
		r->lport = ntohs(in->sin_port);
		r->has_local = 1;
	} else if (ss.ss_family == AF_INET6 && r->family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;

		if (!in6->sin6_port)
			return;
		memcpy(r->laddr, &in6->sin6_addr, 16);
		r->lport = ntohs(in6->sin6_port);
		r->has_local = 1;
	}
}

/*
 * Look at a socket another process holds, through a copy of its
 * descriptor (pidfd_getfd): is it really closed?  A descriptor opened
 * after the dump is missing from it too, but is not dead.  Fills r's
 * local end when it is dead.  Returns 1 dead (same inode, TCP state
 * CLOSE), 0 alive, closed since, or no longer that socket (the process
 * or the descriptor is gone: not a leak any more), -errno when it cannot
 * be looked at (no privilege, no pidfd_getfd).
 */
static int probe_socket(pid_t pid, int fd, struct sock_rec *r)
{
	struct tcp_info ti;
	socklen_t tlen = sizeof(ti);
	struct stat st;
	int pidfd, copy, rc;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return errno == ESRCH ? 0 : -errno;
	copy = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (copy < 0) {
		rc = errno == EBADF || errno == ESRCH ? 0 : -errno;
		close(pidfd);
		return rc;
	}
	memset(&ti, 0, sizeof(ti));
	if (fstat(copy, &st) < 0 || st.st_ino != r->inode)
		rc = 0; /* the fd now holds another file */
	else if (getsockopt(copy, IPPROTO_TCP, TCP_INFO, &ti, &tlen) < 0)
		rc = -errno;
	else
		rc = ti.tcpi_state == ST_CLOSE;
	if (rc == 1)
		local_end(copy, r);
	close(copy);
	close(pidfd);
	return rc;
}

/*
 * A socket descriptor whose inode no source dumped.  When it is a TCP
 * socket of a selected family, held by a process of our network
 * namespace, and closed (or it cannot be told), record it as a dead
 * socket.  Returns its table index, NO_INDEX when it is not one (not
 * TCP, another namespace, alive, gone), or NO_INDEX with *oom set.
 */
static uint32_t record_dead(struct sock_table *t, struct proc_scan *ps,
			    int fdfd, const char *fdname, int fd, int *oom)
{
	char path[4096], proto[16];
	struct stat st;
	struct sock_rec *r;
	ssize_t n;
	int family, probe;

	if (!ps->o->netns)
		return NO_INDEX;
	if (ps->netns_state == 0) {
		unsigned long ns = owners_netns_of(ps->o->proc_root, ps->pid);

		ps->netns_state = ns == ps->o->netns ? 1 : -1;
	}
	if (ps->netns_state < 0)
		return NO_INDEX;

	/* getxattr follows the fd link to the socket inode itself. */
	snprintf(path, sizeof(path), "%s/%d/fd/%s", ps->o->proc_root, (int)ps->pid,
		 fdname);
	n = getxattr(path, "system.sockprotoname", proto, sizeof(proto) - 1);
	if (n <= 0)
		return NO_INDEX;
	proto[n] = '\0';
	if (!strcmp(proto, "TCP"))
		family = AF_INET;
	else if (!strcmp(proto, "TCPv6"))
		family = AF_INET6;
	else
		return NO_INDEX;
	if (!(ps->o->families & (family == AF_INET ? FAMILY_INET : FAMILY_INET6)))
		return NO_INDEX;
	if (fstatat(fdfd, fdname, &st, 0) < 0)
		return NO_INDEX;

	r = table_add_sock(t);
	if (!r) {
		*oom = 1;
		return NO_INDEX;
	}
	r->family = (uint8_t)family;
	r->state = ST_CLOSE;
	r->inode = (uint32_t)st.st_ino;
	r->uid = st.st_uid;
	r->has_local = 0;
	probe = probe_socket(ps->pid, fd, r);
	if (probe == 0) {
		t->nsocks--; /* alive: opened after the dump */
		return NO_INDEX;
	}
	r->origin = probe > 0 ? ORIGIN_FD : ORIGIN_FD_UNCHECKED;
	ps->unchecked += probe < 0;
	if (table_index(t) < 0) {
		*oom = 1;
		return NO_INDEX;
	}
	return (uint32_t)(t->nsocks - 1);
}

/*
 * Read one process's fd table.  Returns 0, -ENOMEM, or the -errno of
 * opening its fd directory (for counting).
 */
static int scan_one(struct sock_table *t, struct proc_scan *ps)
{
	char path[32], link[64];
	struct dirent *de;
	DIR *dir;
	int fdfd, rc = 0;

	snprintf(path, sizeof(path), "%d/fd", (int)ps->pid);
	fdfd = openat(ps->procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fdfd < 0)
		return -errno;
	dir = fdopendir(fdfd);
	if (!dir) {
		rc = -errno;
		close(fdfd);
		return rc;
	}
	while ((de = readdir(dir)) != NULL && !ps->gone && !rc) {
		uint32_t sock, proc;
		ssize_t n;
		int fd;
		unsigned long ino;
		char *end;

		if (!numeric_name(de->d_name, &fd))
			continue;
		n = readlinkat(fdfd, de->d_name, link, sizeof(link) - 1);
		/* Closed between readdir and readlink: nothing to join. */
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strncmp(link, "socket:[", 8) != 0)
			continue;
		ino = strtoul(link + 8, &end, 10);
		if (*end != ']' || ino == 0 || ino > UINT32_MAX)
			continue;

		sock = table_find(t, (uint32_t)ino);
		if (sock == NO_INDEX) {
			int oom = 0;

			if (proc_index(t, ps) == NO_INDEX)
				break;
			sock = record_dead(t, ps, fdfd, de->d_name, fd, &oom);
			if (oom) {
				rc = -ENOMEM;
				break;
			}
			if (sock == NO_INDEX)
				continue;
		}
		proc = proc_index(t, ps);
		if (proc == NO_INDEX)
			break;
		if (table_add_owner(t, sock, proc, fd) < 0) {
			rc = -ENOMEM;
			break;
		}
	}
	closedir(dir);
	if (ps->oom)
		rc = -ENOMEM;
	return rc;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* Every numeric entry of PROC_ROOT, ascending.  Returns count or -errno. */
static ssize_t list_pids(int procfd, pid_t **out)
{
	pid_t *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *dir;
	int dfd = dup(procfd);

	if (dfd < 0)
		return -errno;
	dir = fdopendir(dfd);
	if (!dir) {
		int err = errno;

		close(dfd);
		return -err;
	}
	while ((de = readdir(dir)) != NULL) {
		int pid;

		if (!numeric_name(de->d_name, &pid) || pid == 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 512;
			pid_t *p = realloc(v, ncap * sizeof(*p));

			if (!p) {
				free(v);
				closedir(dir);
				return -ENOMEM;
			}
			v = p;
			cap = ncap;
		}
		v[n++] = pid;
	}
	closedir(dir);
	if (n)
		qsort(v, n, sizeof(*v), cmp_pid);
	*out = v;
	return (ssize_t)n;
}

/* How long a socket that was never bound must stay so to be called dead. */
#define UNBOUND_GRACE_NS 50000000L

/*
 * A second look at every dead socket once the scan is over: one caught
 * between socket() and connect() was in state CLOSE at the first look
 * but is connecting or connected by now; a reset one is still closed.
 * When a candidate was never bound (the likely case of a socket about to
 * connect), the second look waits a little so that it is not taken
 * microseconds after the first.
 */
static void second_look(struct sock_table *t)
{
	struct timespec grace = { 0, UNBOUND_GRACE_NS };
	size_t i;

	for (i = 0; i < t->nsocks; i++) {
		if (t->socks[i].origin == ORIGIN_FD && !t->socks[i].has_local) {
			while (nanosleep(&grace, &grace) < 0 && errno == EINTR)
				;
			break;
		}
	}
	for (i = 0; i < t->nsocks; i++) {
		struct sock_rec *s = &t->socks[i];
		const struct owner_ref *r;

		if (s->origin != ORIGIN_FD || s->owners == NO_INDEX)
			continue;
		r = &t->refs[s->owners];
		if (probe_socket(t->procs[r->proc].pid, r->fd, s) != 1)
			s->origin = ORIGIN_LATE;
	}
}

/* Does process pid still hold socket `inode` on descriptor fd? */
static int still_held(const char *proc_root, pid_t pid, int fd, uint32_t inode)
{
	char path[4096], link[64], want[32];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%d/fd/%d", proc_root, (int)pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = '\0';
	snprintf(want, sizeof(want), "socket:[%u]", (unsigned)inode);
	return strcmp(link, want) == 0;
}

void owners_recheck(struct sock_table *t, const struct sock_table *again,
		    const char *proc_root)
{
	size_t i;

	for (i = 0; i < t->nsocks; i++) {
		struct sock_rec *s = &t->socks[i];
		const struct owner_ref *r;

		if (s->origin != ORIGIN_FD_UNCHECKED)
			continue;
		r = s->owners != NO_INDEX ? &t->refs[s->owners] : NULL;
		if (table_find(again, s->inode) != NO_INDEX || !r ||
		    !still_held(proc_root, t->procs[r->proc].pid, r->fd, s->inode))
			s->origin = ORIGIN_LATE;
		else
			s->origin = ORIGIN_FD;
	}
}

int owners_scan(struct sock_table *t, const struct owners_opts *o,
		struct owners_stats *st)
{
	pid_t *pids = NULL;
	ssize_t npids;
	ssize_t i;
	int procfd, rc = 0;

	memset(st, 0, sizeof(*st));
	procfd = open(o->proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return -errno;
	if (o->npids) {
		pids = malloc(o->npids * sizeof(*pids));
		if (!pids) {
			close(procfd);
			return -ENOMEM;
		}
		memcpy(pids, o->pids, o->npids * sizeof(*pids));
		qsort(pids, o->npids, sizeof(*pids), cmp_pid);
		npids = (ssize_t)o->npids;
	} else {
		npids = list_pids(procfd, &pids);
		if (npids < 0 || !pids) {
			close(procfd);
			return (int)npids;
		}
	}
	for (i = 0; i < npids; i++) {
		struct proc_scan ps = {
			.o = o, .procfd = procfd, .pid = pids[i], .proc = NO_INDEX,
		};
		int err;

		/* A PID given twice is read once. */
		if (i > 0 && pids[i] == pids[i - 1])
			continue;
		err = scan_one(t, &ps);
		st->unchecked += ps.unchecked;
		if (err == -ENOMEM) {
			rc = err;
			break;
		}
		/* A process that exited is simply not an owner. */
		if (!is_vanished(-err) && !ps.gone &&
		    (err == -EACCES || err == -EPERM)) {
			if (!st->denied++)
				st->denied_pid = pids[i];
			st->denied_errno = -err;
		}
	}
	free(pids);
	close(procfd);
	if (!rc && o->netns)
		second_look(t);
	return rc;
}
