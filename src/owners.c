/*
 * Owners: join the socket descriptors fdscan read to the table by inode,
 * and record TCP descriptors that no source dumped ("dead"), each
 * confirmed, since descriptors and the dump are read at different times.
 *
 * Processes come and go while we read: one that exited is skipped; an fd
 * table we may not read (EACCES, EPERM) is counted for one warning by
 * the caller.
 */
#include "owners.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
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

/* State of the join of one process. */
struct proc_scan {
	const struct owners_opts *o;
	const struct proc_fds *p; /* what fdscan read of it */
	uint32_t proc;	   /* table index, NO_INDEX until first needed */
	int netns_state;   /* 0 unknown, 1 a dumped namespace, -1 other */
	uint32_t netns;	   /* with netns_state 1: sock_rec.netns of its sockets */
	unsigned unchecked; /* dead candidates whose state was not read */
	unsigned missing;   /* live sockets missing from the dump */
	const char *fail_what; /* what a failed /proc read was reading */
};

/* The table index of the process, created on first use; NO_INDEX when
 * memory ran out. */
static uint32_t proc_index(struct sock_table *t, struct proc_scan *ps)
{
	if (ps->proc == NO_INDEX) {
		ps->proc = table_add_proc(t, ps->p->pid, ps->p->comm, ps->p->comm_len);
		if (ps->proc != NO_INDEX) {
			struct proc_rec *r = &t->procs[ps->proc];

			r->fds = ps->p->fds;
			r->socket_fds = ps->p->socket_fds;
			r->fd_limit = ps->p->fd_limit;
			r->has_fd_limit = (uint8_t)ps->p->has_fd_limit;
			r->cgroup_key = ps->p->cgroup_key;
			r->cgroup_id = ps->p->cgroup_id;
		}
	}
	return ps->proc;
}

int owners_netns_of(const char *proc_root, pid_t pid, unsigned long *ino)
{
	char path[4096];
	struct stat st;

	if (pid)
		snprintf(path, sizeof(path), "%s/%d/ns/net", proc_root, (int)pid);
	else
		snprintf(path, sizeof(path), "%s/self/ns/net", proc_root);
	if (stat(path, &st) < 0)
		return -errno;
	*ino = (unsigned long)st.st_ino;
	return 0;
}

int owners_pid_check(const char *proc_root, pid_t pid, pid_t *tgid)
{
	char path[4096], line[128];
	FILE *f;
	int rc = -EPROTO;
	bool zombie = false;
	long threads = 0;

	snprintf(path, sizeof(path), "%s/%d/status", proc_root, (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "State:", 6) == 0) {
			const char *p = line + 6;

			while (*p == ' ' || *p == '\t')
				p++;
			zombie = *p == 'Z';
		} else if (strncmp(line, "Tgid:", 5) == 0) {
			*tgid = (pid_t)strtol(line + 5, NULL, 10);
			rc = *tgid > 0 ? 0 : -EPROTO;
		} else if (strncmp(line, "Threads:", 8) == 0) {
			threads = strtol(line + 8, NULL, 10);
			break;
		}
	}
	fclose(f);
	/* A zombie has exited and holds nothing; a thread-group leader
	 * that exited while its other threads run shows Z too, with more
	 * than one thread. */
	if (!rc && zombie && threads <= 1)
		return -ESRCH;
	return rc;
}

/* The local end a dead socket had, as getsockname still gives it, into
 * r as released: the kernel let the port go when the connection was
 * dropped, and another socket may hold it now.  A socket never bound
 * (port 0) leaves it unknown: null, not 0.0.0.0:0. */
static void released_end(int sock, struct sock_rec *r)
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
		r->released = 1;
	} else if (ss.ss_family == AF_INET6 && r->family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;

		if (!in6->sin6_port)
			return;
		memcpy(r->laddr, &in6->sin6_addr, 16);
		r->lport = ntohs(in6->sin6_port);
		r->released = 1;
	}
}

/* Whether an error says the process is gone (it exited), or that we
 * may not look at it.  Any other error is one of the audit itself (out
 * of descriptors or memory) and must not be taken for either. */
static bool gone(int err)
{
	return err == -ENOENT || err == -ESRCH;
}

static bool denied(int err)
{
	return err == -EACCES || err == -EPERM;
}

/* probe_socket: the socket cannot be looked at this way; it is alive. */
#define PROBE_UNKNOWN 2
#define PROBE_ALIVE 3

/* Why a socket cannot be looked at through pidfd_getfd: no privilege, a
 * kernel without it. */
static int probe_refused(int err)
{
	return denied(err) || err == -ENOSYS || err == -EINVAL;
}

/*
 * Look at a socket another process holds, through a copy of its
 * descriptor (pidfd_getfd): is it really closed?  A descriptor opened
 * after the dump is missing from it too, but is not dead.  Fills r's
 * released local end when it is dead.  Returns 1 dead (same inode, TCP state
 * CLOSE), PROBE_ALIVE (same inode, another state), 0 closed since or no
 * longer that socket (the process or the descriptor is gone: not a leak
 * any more), PROBE_UNKNOWN when it may not be looked at (no privilege,
 * no pidfd_getfd), or -errno (out of descriptors, ...).
 */
static int probe_socket(pid_t pid, int fd, struct sock_rec *r)
{
	struct tcp_info ti;
	socklen_t tlen = sizeof(ti);
	struct stat st;
	int pidfd, copy, rc;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return errno == ESRCH ? 0 : probe_refused(-errno) ? PROBE_UNKNOWN : -errno;
	copy = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (copy < 0) {
		rc = errno == EBADF || errno == ESRCH ? 0 :
		     probe_refused(-errno) ? PROBE_UNKNOWN : -errno;
		close(pidfd);
		return rc;
	}
	memset(&ti, 0, sizeof(ti));
	if (fstat(copy, &st) < 0)
		rc = -errno;
	else if (st.st_ino != r->inode)
		rc = 0; /* the fd now holds another file */
	else if (getsockopt(copy, IPPROTO_TCP, TCP_INFO, &ti, &tlen) < 0)
		rc = errno == ENOMEM || errno == ENOBUFS ? -errno : PROBE_UNKNOWN;
	else
		rc = ti.tcpi_state == ST_CLOSE ? 1 : PROBE_ALIVE;
	if (rc == 1)
		released_end(copy, r);
	close(copy);
	close(pidfd);
	return rc;
}

/*
 * A socket descriptor whose inode no source dumped.  When it is a TCP
 * socket of a selected family, held by a process of a network namespace
 * that was dumped whole, and closed (or it cannot be told), record it as a dead
 * socket.  Alive, it is recorded too, as ORIGIN_MISSING: the dump
 * skipped it or it was opened since, and a second dump will tell.
 * Returns its table index, NO_INDEX when it is not one (not TCP,
 * another namespace, gone), or NO_INDEX with *err set to
 * -errno (no memory, a /proc read that failed otherwise than for a
 * process or descriptor gone).
 *
 * What the BPF iterator read of the socket (fs->kind) spares the /proc
 * reads that would tell the same: a socket that is not TCP is none,
 * a TCP one has its family, and one in another state than CLOSE is
 * alive.  Only a closed one is looked at (probe_socket), to confirm
 * it and read the local end it had.
 */
static uint32_t record_dead(struct sock_table *t, struct proc_scan *ps,
			    const struct fd_sock *fs, int *err)
{
	char path[4096], proto[16];
	struct stat st;
	struct sock_rec *r;
	ssize_t n;
	int family, probe;

	if (!ps->o->nnetns || (fs->kind != FDS_UNKNOWN && fs->kind != FDS_TCP))
		return NO_INDEX;
	if (ps->netns_state == 0) {
		unsigned long ns = 0;
		int rc = owners_netns_of(ps->o->proc_root, ps->p->pid, &ns);
		size_t i;

		/* A process that has gone holds nothing dead. */
		if (rc && !gone(rc) && !denied(rc)) {
			*err = rc;
			ps->fail_what = "ns/net";
			return NO_INDEX;
		}
		/* Only a namespace that was dumped whole can say that a
		 * socket is missing. */
		ps->netns_state = -1;
		for (i = 0; ns && i < ps->o->nnetns; i++)
			if (ns == ps->o->netns[i]) {
				ps->netns_state = 1;
				ps->netns = ns == ps->o->self_netns ? 0 : (uint32_t)ns;
			}
	}
	if (ps->netns_state < 0)
		return NO_INDEX;

	/* getxattr and stat follow the fd link to the socket inode. */
	snprintf(path, sizeof(path), "%s/%d/fd/%d", ps->o->proc_root,
		 (int)ps->p->pid, (int)fs->fd);
	family = fs->kind == FDS_TCP ? fs->family : 0;
	n = family ? 0 : getxattr(path, "system.sockprotoname", proto, sizeof(proto) - 1);
	/* ENOENT: closed since; ERANGE: a longer name than TCPv6;
	 * ENODATA, EOPNOTSUPP: not a socket any more. */
	if (n < 0 && errno != ENOENT && errno != ESRCH && errno != ERANGE &&
	    errno != ENODATA && errno != EOPNOTSUPP && !denied(-errno)) {
		*err = -errno;
		ps->fail_what = "fd";
		return NO_INDEX;
	}
	if (!family && n <= 0)
		return NO_INDEX;
	if (!family) {
		proto[n] = '\0';
		if (!strcmp(proto, "TCP"))
			family = AF_INET;
		else if (!strcmp(proto, "TCPv6"))
			family = AF_INET6;
		else
			return NO_INDEX;
	}
	if (!(ps->o->families & (family == AF_INET ? FAMILY_INET : FAMILY_INET6)))
		return NO_INDEX;
	/* The descriptor may hold another file by now. */
	if (stat(path, &st) < 0) {
		if (!gone(-errno) && !denied(-errno)) {
			*err = -errno;
			ps->fail_what = "fd";
		}
		return NO_INDEX;
	}
	if (st.st_ino != fs->inode)
		return NO_INDEX;

	r = table_add_sock(t);
	if (!r) {
		*err = -ENOMEM;
		return NO_INDEX;
	}
	r->family = (uint8_t)family;
	r->netns = ps->netns;
	r->state = ST_CLOSE;
	r->inode = fs->inode;
	r->uid = st.st_uid;
	r->has_local = 0;
	r->released = 0;
	probe = fs->kind == FDS_TCP && fs->state != ST_CLOSE ?
			PROBE_ALIVE : probe_socket(ps->p->pid, fs->fd, r);
	if (probe <= 0) {
		t->nsocks--; /* closed since, or gone */
		if (probe < 0) {
			*err = probe;
			ps->fail_what = "fd";
		}
		return NO_INDEX;
	}
	r->origin = probe == 1 ? ORIGIN_FD :
		    probe == PROBE_ALIVE ? ORIGIN_MISSING : ORIGIN_FD_UNCHECKED;
	ps->unchecked += probe == PROBE_UNKNOWN;
	ps->missing += probe == PROBE_ALIVE;
	if (table_index(t) < 0) {
		*err = -ENOMEM;
		return NO_INDEX;
	}
	return (uint32_t)(t->nsocks - 1);
}

/* Join one process's socket descriptors to the table.  Returns 0 or
 * -errno (with ps->fail_what set when a /proc read failed). */
static int join_one(struct sock_table *t, struct proc_scan *ps)
{
	size_t i;

	for (i = 0; i < ps->p->nsocks; i++) {
		const struct fd_sock *fs = &ps->p->socks[i];
		uint32_t sock = table_find(t, fs->inode);
		int err = 0;

		if (sock == NO_INDEX) {
			sock = record_dead(t, ps, fs, &err);
			if (err)
				return err;
			if (sock == NO_INDEX)
				continue;
		}
		if (proc_index(t, ps) == NO_INDEX ||
		    table_add_owner(t, sock, ps->proc, fs->fd) < 0)
			return -ENOMEM;
	}
	return 0;
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
static int second_look(struct sock_table *t, struct owners_stats *st)
{
	struct timespec grace = { 0, UNBOUND_GRACE_NS };
	size_t i;
	int rc;

	for (i = 0; i < t->nsocks; i++) {
		if (t->socks[i].origin == ORIGIN_FD && !t->socks[i].released) {
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
		rc = probe_socket(t->procs[r->proc].pid, r->fd, s);
		if (rc < 0) {
			st->fail_pid = t->procs[r->proc].pid;
			st->fail_what = "fd";
			return rc;
		}
		/* Connecting or connected by now: a live socket that the
		 * dump did not list, for the second dump to settle. */
		if (rc == PROBE_ALIVE) {
			s->origin = ORIGIN_MISSING;
			st->missing++;
		} else if (rc != 1) {
			s->origin = ORIGIN_LATE;
		}
	}
	return 0;
}

/* Does process pid still hold socket `inode` on descriptor fd?  Returns
 * 1, 0 (also when it or the descriptor is gone), or -errno. */
static int still_held(const char *proc_root, pid_t pid, int fd, uint32_t inode)
{
	char path[4096], link[64], want[32];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%d/fd/%d", proc_root, (int)pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0 && !gone(-errno))
		return -errno;
	if (n <= 0)
		return 0;
	link[n] = '\0';
	snprintf(want, sizeof(want), "socket:[%u]", (unsigned)inode);
	return strcmp(link, want) == 0;
}

/*
 * Socket i of t, missing from the first dump, is in the second: take
 * its record there (keeping its owners), and its listener mark.
 * Returns 0 or -ENOMEM.
 */
static int adopt(struct sock_table *t, size_t i, const struct sock_rec *found)
{
	uint32_t owners = t->socks[i].owners, cur = t->cur_netns;
	int rc = 0;

	t->socks[i] = *found;
	t->socks[i].owners = owners;
	t->socks[i].origin = ORIGIN_KERNEL;
	if (found->state == ST_LISTEN) {
		t->cur_netns = found->netns;
		rc = table_mark_listener(t, found->lport);
		t->cur_netns = cur;
	}
	return rc;
}

int owners_recheck(struct sock_table *t, const struct sock_table *again,
		   const char *proc_root, pid_t *fail_pid)
{
	size_t i;

	for (i = 0; i < t->nsocks; i++) {
		struct sock_rec *s = &t->socks[i];
		const struct owner_ref *r;
		uint32_t found;
		int held = 0;

		if (s->origin != ORIGIN_FD_UNCHECKED && s->origin != ORIGIN_MISSING)
			continue;
		found = table_find(again, s->inode);
		/* Alive at the second dump: skipped by the first, or
		 * opened since; either way it exists now. */
		if (found != NO_INDEX) {
			if (adopt(t, i, &again->socks[found]) < 0)
				return -ENOMEM;
			continue;
		}
		r = s->owners != NO_INDEX ? &t->refs[s->owners] : NULL;
		if (s->origin == ORIGIN_FD_UNCHECKED && r) {
			held = still_held(proc_root, t->procs[r->proc].pid, r->fd, s->inode);
			if (held < 0) {
				*fail_pid = t->procs[r->proc].pid;
				return held;
			}
		}
		s->origin = held ? ORIGIN_FD : ORIGIN_LATE;
	}
	return 0;
}

void owners_forget_missing(struct sock_table *t)
{
	size_t i;

	for (i = 0; i < t->nsocks; i++)
		if (t->socks[i].origin == ORIGIN_MISSING)
			t->socks[i].origin = ORIGIN_LATE;
}

int owners_join(struct sock_table *t, const struct owners_opts *o,
		const struct fdscan *scan, struct owners_stats *st)
{
	size_t i;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < scan->nprocs && !rc; i++) {
		struct proc_scan ps = { .o = o, .p = &scan->procs[i], .proc = NO_INDEX };
		int err = ps.p->err;

		/* A process that exited is simply not an owner (the caller
		 * decides about a process it named). */
		if (gone(err)) {
			if (!st->gone++)
				st->gone_pid = ps.p->pid;
			continue;
		}
		if (denied(err)) {
			if (!st->denied++)
				st->denied_pid = ps.p->pid;
			st->denied_errno = -err;
			continue;
		}
		if (ps.p->denied_links && !st->links_denied++)
			st->links_denied_pid = ps.p->pid;
		if (err) {
			st->fail_pid = ps.p->pid;
			st->fail_what = ps.p->err_what;
			return err;
		}
		rc = join_one(t, &ps);
		st->unchecked += ps.unchecked;
		st->missing += ps.missing;
		if (rc && ps.fail_what) {
			st->fail_pid = ps.p->pid;
			st->fail_what = ps.fail_what;
		}
	}
	if (!rc && o->nnetns)
		rc = second_look(t, st);
	return rc;
}

/* PF_EXITING in the flags of PROC_ROOT/PID/stat: the process has begun
 * to exit (its descriptors are being closed or already are). */
#define PF_EXITING_FLAG 0x00000004u

/*
 * From PROC_ROOT/PID/stat: the state letter, the flags and the start
 * time (clock ticks after boot).  Returns 0 or -errno (-EPROTO: not the
 * expected format).
 */
static int read_stat(const char *proc_root, pid_t pid, char *state,
		     unsigned *flags, unsigned long long *start)
{
	char path[4096], buf[1024];
	const char *p;
	ssize_t n;
	int fd, err, field;

	snprintf(path, sizeof(path), "%s/%d/stat", proc_root, (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = '\0';
	/* The name in parentheses may hold anything: skip to its end.
	 * Then field 3 is the state, 9 the flags, 22 the start time. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return -EPROTO;
	*state = p[2];
	for (field = 3, p += 2; field < 22; field++) {
		char *end;

		p = strchr(p, ' ');
		if (!p)
			return -EPROTO;
		p++;
		if (field + 1 == 9)
			*flags = (unsigned)strtoul(p, &end, 10);
		else if (field + 1 == 22)
			*start = strtoull(p, &end, 10);
		else
			continue;
		if (end == p)
			return -EPROTO;
	}
	return 0;
}

int owners_hold(const char *proc_root, pid_t pid, struct owners_hold *h)
{
	char state;
	unsigned flags;
	int rc;

	h->pid = pid;
	h->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	/* Without pidfd_open (before Linux 5.3) the start time alone ties
	 * the PID to the process. */
	if (h->pidfd < 0 && errno != ENOSYS)
		return errno == ESRCH ? -ENOENT : -errno;
	rc = read_stat(proc_root, pid, &state, &flags, &h->start);
	if (rc) {
		owners_release(h);
		return rc == -ESRCH ? -ENOENT : rc;
	}
	return 0;
}

int owners_held(const char *proc_root, const struct owners_hold *h)
{
	struct pollfd pfd = { .fd = h->pidfd, .events = POLLIN };
	unsigned long long start = 0;
	unsigned flags = 0;
	char state = 0;
	int rc;

	/* The stat file first, then the pidfd: if the process has not
	 * exited after the stat file was read, that file was its own. */
	rc = read_stat(proc_root, h->pid, &state, &flags, &start);
	if (gone(rc))
		return -ESRCH;
	if (rc)
		return rc;
	if (start != h->start)
		return -ESRCH; /* the PID names another process now */
	/* A zombie; or exiting: its descriptors are being closed.  (A
	 * leader that exited while other threads run shows the same, and
	 * PROC_ROOT/PID/fd is empty then too: its descriptors cannot be
	 * read there either.) */
	if (state == 'Z' || state == 'X' || (flags & PF_EXITING_FLAG))
		return -ESRCH;
	if (h->pidfd >= 0) {
		rc = poll(&pfd, 1, 0);
		if (rc < 0)
			return -errno;
		if (rc > 0)
			return -ESRCH;
	}
	return 0;
}

void owners_release(struct owners_hold *h)
{
	if (h->pidfd >= 0)
		close(h->pidfd);
	h->pidfd = -1;
}
