/*
 * fdscan: PROC_ROOT/PID/fd read on worker threads.
 *
 * This is most of an audit's time on a big host (one readlinkat per
 * descriptor), and it does not depend on the socket dump, so main runs
 * the two at once.  Workers take processes one at a time from a shared
 * counter and fill that process's slot; nothing else is shared.
 */
#include "fdscan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parse.h"
#include "sockaudit.h"
#include "vec.h"

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

/*
 * The soft limit on open files from PID/limits, the line
 * "Max open files  <soft>  <hard>  files" ("unlimited" possible).
 * Returns 0 or -errno (-ENODATA: no such line).
 */
static int read_fd_limit(int procfd, pid_t pid, uint64_t *out)
{
	static const char key[] = "Max open files";
	char path[32], buf[4096];
	size_t got = 0;
	char *line, *p, *end;
	int fd, err = 0;
	unsigned long long v;

	snprintf(path, sizeof(path), "%d/limits", (int)pid);
	fd = openat(procfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	while (got < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = -errno;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (err)
		return err;
	buf[got] = '\0';
	line = strstr(buf, key);
	if (!line)
		return -ENODATA;
	p = line + sizeof(key) - 1;
	while (*p == ' ')
		p++;
	if (!strncmp(p, "unlimited", 9)) {
		*out = FD_LIMIT_NONE;
		return 0;
	}
	errno = 0;
	v = strtoull(p, &end, 10);
	if (end == p || errno || (*end != ' ' && *end != '\n'))
		return -ENODATA;
	*out = v;
	return 0;
}

static int add_sock(struct proc_fds *p, int fd, uint32_t inode)
{
	if (VEC_GROW(p->socks, p->cap, p->nsocks))
		return -ENOMEM;
	p->socks[p->nsocks].fd = fd;
	p->socks[p->nsocks].inode = inode;
	p->socks[p->nsocks].kind = FDS_UNKNOWN;
	p->socks[p->nsocks].family = 0;
	p->socks[p->nsocks].state = 0;
	p->nsocks++;
	return 0;
}

/* Record the first failure of a process's read. */
static void fail(struct proc_fds *p, int err, const char *what)
{
	if (!p->err) {
		p->err = err;
		p->err_what = what;
	}
}

enum fd_type fdscan_link_type(const char *link)
{
	if (!strncmp(link, "socket:[", 8))
		return FDT_OTHER_SOCKET; /* its kind needs the table */
	if (!strncmp(link, "pipe:[", 6))
		return FDT_PIPE;
	if (!strncmp(link, "anon_inode:", 11))
		return FDT_ANON_INODE;
	/* A path: a file, a directory, a device, a deleted file. */
	if (link[0] == '/')
		return FDT_FILE;
	return FDT_OTHER; /* net:[...], mnt:[...], a memfd's "/memfd:" is a path */
}

/*
 * Read the entries of an open PID/fd directory into the slot.  A
 * descriptor closed between readdir and readlink is skipped; any other
 * failure is recorded in p->err (ENOENT from readdir: the process went).
 */
static void read_fd_dir(DIR *dir, int fdfd, struct proc_fds *p)
{
	char link[64];

	for (;;) {
		struct dirent *de;
		unsigned long ino;
		ssize_t n;
		char *end;
		int fd;

		errno = 0;
		de = readdir(dir);
		if (!de) {
			if (errno)
				fail(p, -errno, "fd");
			return;
		}
		if (!parse_proc_number(de->d_name, &fd))
			continue;
		p->fds++;
		n = readlinkat(fdfd, de->d_name, link, sizeof(link) - 1);
		/* ENOENT: closed between readdir and readlink, nothing to
		 * join.  EACCES, EPERM: counted for the caller.  Anything
		 * else (ENOMEM) leaves the list incomplete. */
		if (n < 0 && (errno == EACCES || errno == EPERM)) {
			p->denied_links++;
			continue;
		}
		if (n < 0 && errno != ENOENT) {
			fail(p, -errno, "fd");
			return;
		}
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strncmp(link, "socket:[", 8) != 0) {
			p->fd_types[fdscan_link_type(link)]++;
			continue;
		}
		p->socket_fds++;
		ino = strtoul(link + 8, &end, 10);
		if (*end != ']' || ino == 0 || ino > UINT32_MAX)
			continue;
		if (add_sock(p, fd, (uint32_t)ino) < 0) {
			fail(p, -ENOMEM, "fd");
			return;
		}
	}
}

/*
 * Read one process's socket descriptors into its slot, and the name
 * and limit of a process that holds sockets.  Failures are left in
 * p->err with what failed in p->err_what.
 */
static void read_proc(int procfd, struct proc_fds *p)
{
	char path[32];
	DIR *dir;
	ssize_t n;
	int fdfd, rc;

	snprintf(path, sizeof(path), "%d/fd", (int)p->pid);
	fdfd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fdfd < 0) {
		fail(p, -errno, "fd");
		return;
	}
	dir = fdopendir(fdfd);
	if (!dir) {
		fail(p, -errno, "fd");
		close(fdfd);
		return;
	}
	read_fd_dir(dir, fdfd, p);
	closedir(dir);
	if (!p->nsocks || p->err)
		return;
	n = read_comm(procfd, p->pid, p->comm, sizeof(p->comm));
	if (n < 0) {
		fail(p, (int)n, "comm");
		return;
	}
	p->comm_len = (uint32_t)n;
	rc = read_fd_limit(procfd, p->pid, &p->fd_limit);
	/* A limits file we cannot make sense of, or that is gone with its
	 * process (the caller then learns it from the PID), leaves the
	 * limit unknown; any other error reading it is the audit's. */
	if (rc && rc != -ENODATA && rc != -EACCES && rc != -EPERM && rc != -ENOENT &&
	    rc != -ESRCH)
		fail(p, rc, "limits");
	p->has_fd_limit = rc == 0;
}

static void *worker(void *arg)
{
	struct fdscan *s = arg;
	size_t i;

	while ((i = atomic_fetch_add(&s->next, 1)) < s->nprocs)
		read_proc(s->procfd, &s->procs[i]);
	return NULL;
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
	for (;;) {
		struct dirent *de;
		int pid;

		errno = 0;
		de = readdir(dir);
		if (!de && errno) {
			int err = errno;

			free(v);
			closedir(dir);
			return -err;
		}
		if (!de)
			break;
		if (!parse_proc_number(de->d_name, &pid) || pid == 0)
			continue;
		if (VEC_GROW(v, cap, n)) {
			free(v);
			closedir(dir);
			return -ENOMEM;
		}
		v[n++] = pid;
	}
	closedir(dir);
	*out = v;
	return (ssize_t)n;
}

int fdscan_start(struct fdscan *s, const char *proc_root, const pid_t *pids,
		 size_t npids)
{
	pid_t *list = NULL;
	ssize_t n;
	size_t i, j;
	long cpus;
	int rc;

	memset(s, 0, sizeof(*s));
	s->procfd = -1;
	s->procfd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (s->procfd < 0)
		return -errno;
	if (npids) {
		list = malloc(npids * sizeof(*list));
		if (!list) {
			rc = -ENOMEM;
			goto fail;
		}
		memcpy(list, pids, npids * sizeof(*list));
		n = (ssize_t)npids;
	} else {
		n = list_pids(s->procfd, &list);
		/* No process at all: not a /proc we can read. */
		if (n <= 0 || !list) {
			rc = n < 0 ? (int)n : -ENOENT;
			free(list);
			goto fail;
		}
	}
	if (n > 1)
		qsort(list, (size_t)n, sizeof(*list), cmp_pid);
	s->procs = calloc(n ? (size_t)n : 1, sizeof(*s->procs));
	if (!s->procs) {
		free(list);
		rc = -ENOMEM;
		goto fail;
	}
	/* A PID given twice is read once. */
	for (i = j = 0; i < (size_t)n; i++)
		if (i == 0 || list[i] != list[i - 1])
			s->procs[j++].pid = list[i];
	s->nprocs = j;
	free(list);

	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1)
		cpus = 1;
	atomic_init(&s->next, 0);
	for (i = 0; i < (size_t)cpus && i < 8 && (i == 0 || i < s->nprocs); i++) {
		rc = -pthread_create(&s->threads[i], NULL, worker, s);
		if (rc) {
			/* The threads already started finish the work. */
			if (i > 0)
				break;
			goto fail;
		}
		s->nthreads++;
	}
	return 0;
fail:
	fdscan_free(s);
	return rc;
}

int fdscan_wait(struct fdscan *s)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);
	s->nthreads = 0;
	for (i = 0; s->procs && i < s->nprocs; i++)
		if (s->procs[i].err == -ENOMEM)
			rc = -ENOMEM;
	return rc;
}

void fdscan_free(struct fdscan *s)
{
	size_t i;

	fdscan_wait(s);
	for (i = 0; s->procs && !s->socks_pool && i < s->nprocs; i++)
		free(s->procs[i].socks);
	free(s->socks_pool);
	free(s->procs);
	if (s->procfd >= 0)
		close(s->procfd);
	memset(s, 0, sizeof(*s));
	s->procfd = -1;
}
