/*
 * Network namespaces: find the ones to audit, name them, enter one on
 * the calling thread and come back.
 *
 * setns(CLONE_NEWNET) moves only the calling thread, which is what we
 * want: the fdscan workers keep reading /proc meanwhile, and a netlink
 * socket belongs to the namespace it was created in.  Everything is
 * opened read-only with O_CLOEXEC.
 */
#include "netns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>
#include <linux/nsfs.h>

#include "parse.h"
#include "vec.h"

int netns_init(struct netns_set *set, const char *proc_root,
	       const char *run_dir)
{
	char path[4096];
	struct stat st;

	memset(set, 0, sizeof(*set));
	set->proc_root = proc_root;
	set->run_dir = run_dir;
	set->self_fd = -1;
	/* thread-self: the namespace of this thread, which is the one we
	 * come back to (kernels before 3.17 only have self). */
	snprintf(path, sizeof(path), "%s/thread-self/ns/net", proc_root);
	if (stat(path, &st) < 0) {
		snprintf(path, sizeof(path), "%s/self/ns/net", proc_root);
		if (stat(path, &st) < 0)
			return -errno;
	}
	set->self = (uint32_t)st.st_ino;
	return 0;
}

void netns_free(struct netns_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		if (set->v[i].fd >= 0)
			close(set->v[i].fd);
		free(set->v[i].path);
		free(set->v[i].name);
	}
	free(set->v);
	if (set->self_fd >= 0)
		close(set->self_fd);
	set->v = NULL;
	set->n = set->cap = 0;
	set->self_fd = -1;
}

/*
 * Open an nsfs file and check that it is a network namespace.  Returns
 * the descriptor with its inode in *ino, or -errno (-EINVAL: not a
 * network namespace).
 */
static int open_nsfs(const char *path, uint32_t *ino)
{
	struct statfs sfs;
	struct stat st;
	int fd, type;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	/* NS_GET_NSTYPE needs Linux 4.11; before it, nsfs is enough. */
	type = (int)sfs.f_type == (int)NSFS_MAGIC ? ioctl(fd, NS_GET_NSTYPE) : -1;
	if ((int)sfs.f_type != (int)NSFS_MAGIC ||
	    (type < 0 && errno != ENOTTY) || (type >= 0 && type != CLONE_NEWNET)) {
		close(fd);
		return -EINVAL;
	}
	*ino = (uint32_t)st.st_ino;
	return fd;
}

/* The target of namespace `ino`, or NULL. */
static struct netns_target *find_ino(struct netns_set *set, uint32_t ino)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->v[i].ino == ino)
			return &set->v[i];
	return NULL;
}

/*
 * Add namespace `ino` unless it is there already; `path` is copied.
 * Returns the target (the existing one for a namespace already added),
 * or NULL when out of memory.
 */
static struct netns_target *add_target(struct netns_set *set, uint32_t ino,
				       enum netns_via via, const char *path)
{
	struct netns_target *nt = find_ino(set, ino);

	if (nt)
		return nt;
	if (VEC_GROW(set->v, set->cap, set->n))
		return NULL;
	nt = &set->v[set->n];
	memset(nt, 0, sizeof(*nt));
	nt->fd = -1;
	nt->ino = ino;
	nt->via = ino == set->self ? NETNS_VIA_SELF : via;
	nt->tag = ino == set->self ? 0 : ino;
	if (path) {
		nt->path = strdup(path);
		if (!nt->path)
			return NULL;
	}
	set->n++;
	return nt;
}

int netns_add_self(struct netns_set *set)
{
	return add_target(set, set->self, NETNS_VIA_SELF, NULL) ? 0 : -ENOMEM;
}

int netns_add_pid(struct netns_set *set, pid_t pid)
{
	char path[4096];
	struct netns_target *nt;
	struct stat st;
	uint32_t ino = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%d/ns/net", set->proc_root, (int)pid);
	if (stat(path, &st) < 0)
		return errno == ESRCH ? -ENOENT : -errno;
	if ((uint32_t)st.st_ino == set->self)
		return netns_add_self(set);
	if (find_ino(set, (uint32_t)st.st_ino))
		return 0;
	/* Held open from now on: the namespace stays while we read it,
	 * even if the process exits. */
	fd = open_nsfs(path, &ino);
	if (fd < 0)
		return fd == -ESRCH ? -ENOENT : fd;
	nt = add_target(set, ino, NETNS_VIA_PID, path);
	if (!nt) {
		close(fd);
		return -ENOMEM;
	}
	if (nt->fd < 0) {
		nt->fd = fd;
		nt->pid = pid;
	} else {
		close(fd);
	}
	return 0;
}

const char *netns_arg_path(const struct netns_set *set, const char *arg,
			   char *buf, size_t len)
{
	if (strchr(arg, '/'))
		snprintf(buf, len, "%s", arg);
	else
		snprintf(buf, len, "%s/%s", set->run_dir, arg);
	return buf;
}

/* What a file that is not a namespace is, by its type. */
static const char *file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFIFO:
		return "a FIFO";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFDIR:
		return "a directory";
	case S_IFSOCK:
		return "a socket";
	case S_IFREG:
		return "a regular file";
	default:
		return "a file of an unknown type";
	}
}

/* The namespace type NS_GET_NSTYPE gives, as words. */
static const char *ns_kind(int type)
{
	switch (type) {
	case CLONE_NEWNS:
		return "a mount namespace";
	case CLONE_NEWUTS:
		return "a UTS namespace";
	case CLONE_NEWIPC:
		return "an IPC namespace";
	case CLONE_NEWUSER:
		return "a user namespace";
	case CLONE_NEWPID:
		return "a PID namespace";
	case CLONE_NEWCGROUP:
		return "a cgroup namespace";
	default:
		return "a namespace of another type";
	}
}

/*
 * Open --netns PATH for setns without opening anything else: the path
 * is resolved with O_PATH (which opens no FIFO, device or file for I/O,
 * so nothing can block or wake a driver), its type and file system are
 * checked on that, and only an nsfs file is then opened, through the
 * very descriptor checked (/proc/self/fd), so that the path cannot be
 * swapped in between.  Returns the descriptor with its inode in *ino,
 * or -errno: -EINVAL when it is not a network namespace, with *what
 * saying what it is ("a FIFO", "a mount namespace").
 */
static int open_arg(const char *path, uint32_t *ino, const char **what)
{
	char fdpath[64];
	struct statfs sfs;
	struct stat st;
	int pfd, fd, type, err;

	pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	if (fstat(pfd, &st) < 0 || fstatfs(pfd, &sfs) < 0) {
		err = errno;
		close(pfd);
		return -err;
	}
	if (!S_ISREG(st.st_mode) || (int)sfs.f_type != (int)NSFS_MAGIC) {
		*what = file_kind(st.st_mode);
		close(pfd);
		return -EINVAL;
	}
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", pfd);
	fd = open(fdpath, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	err = errno;
	close(pfd);
	if (fd < 0)
		return -err;
	/* NS_GET_NSTYPE needs Linux 4.11; before it, nsfs is enough. */
	type = ioctl(fd, NS_GET_NSTYPE);
	if ((type < 0 && errno != ENOTTY) || (type >= 0 && type != CLONE_NEWNET)) {
		*what = type >= 0 ? ns_kind(type) : "a namespace of another type";
		close(fd);
		return -EINVAL;
	}
	*ino = (uint32_t)st.st_ino;
	return fd;
}

int netns_add_arg(struct netns_set *set, const char *arg, const char **what)
{
	char path[4096];
	struct netns_target *nt;
	uint32_t ino = 0;
	int fd;

	*what = NULL;
	netns_arg_path(set, arg, path, sizeof(path));
	fd = open_arg(path, &ino, what);
	if (fd < 0)
		return fd;
	nt = add_target(set, ino, NETNS_VIA_ARG, path);
	if (!nt) {
		close(fd);
		return -ENOMEM;
	}
	if (nt->via == NETNS_VIA_ARG && !nt->arg)
		nt->arg = arg;
	if (nt->fd < 0 && nt->tag) {
		nt->fd = fd;
	} else {
		close(fd);
	}
	return 0;
}

/* Open PROC_ROOT for listing.  Returns a DIR or NULL with errno set. */
static DIR *open_proc(const char *proc_root)
{
	int fd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d) {
		int err = errno;

		close(fd);
		errno = err;
	}
	return d;
}

/*
 * Every process of PROC_ROOT: call fn with its PID and the inode of its
 * namespace until fn returns non-zero; processes whose ns/net may not
 * be read are counted in *unreadable (errno in *err).  Returns what fn
 * returned last, or -errno when PROC_ROOT cannot be listed.
 */
static int each_proc(const char *proc_root, unsigned *unreadable, int *err,
		     int (*fn)(void *arg, pid_t pid, uint32_t ino), void *arg)
{
	DIR *d = open_proc(proc_root);
	int rc = 0;

	if (!d)
		return -errno;
	while (!rc) {
		struct dirent *de;
		char path[64];
		struct stat st;
		int pid;

		errno = 0;
		de = readdir(d);
		if (!de) {
			rc = errno ? -errno : 0;
			break;
		}
		if (!parse_proc_number(de->d_name, &pid))
			continue;
		snprintf(path, sizeof(path), "%d/ns/net", (int)pid);
		if (fstatat(dirfd(d), path, &st, 0) < 0) {
			/* A process that exited is not an error; one whose
			 * namespace we may not see is counted; anything
			 * else (no memory) would leave namespaces out. */
			if (errno == EACCES || errno == EPERM) {
				++*unreadable;
				*err = errno;
			} else if (errno != ENOENT && errno != ESRCH) {
				rc = -errno;
			}
			continue;
		}
		rc = fn(arg, pid, (uint32_t)st.st_ino);
	}
	closedir(d);
	return rc;
}

/* each_proc callback of netns_scan: add a namespace not seen yet. */
static int add_proc_netns(void *arg, pid_t pid, uint32_t ino)
{
	struct netns_set *set = arg;
	struct netns_target *nt;
	char path[4096];

	/* Processes of one namespace tend to come together. */
	if (set->n && set->v[set->n - 1].ino == ino)
		return 0;
	if (find_ino(set, ino))
		return 0;
	snprintf(path, sizeof(path), "%s/%d/ns/net", set->proc_root, (int)pid);
	nt = add_target(set, ino, NETNS_VIA_SCAN, path);
	if (!nt)
		return -ENOMEM;
	nt->pid = nt->tag ? pid : 0;
	return 0;
}

/* each_proc callback of open_target: the first process in a namespace. */
struct pid_search {
	uint32_t ino;
	pid_t pid;
};

static int find_proc_in(void *arg, pid_t pid, uint32_t ino)
{
	struct pid_search *ps = arg;

	if (ino != ps->ino)
		return 0;
	ps->pid = pid;
	return 1;
}

/* Give `nt` the name `name` when it has none or a later one in byte
 * order.  Returns 0 or -ENOMEM. */
static int set_name(struct netns_target *nt, const char *name)
{
	char *copy;

	if (nt->name && strcmp(nt->name, name) <= 0)
		return 0;
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	free(nt->name);
	nt->name = copy;
	return 0;
}

/* Whether a failure to look at a name in the run directory says only
 * that it is not (or no longer) a namespace we can see. */
static bool not_a_name(int err)
{
	return err == ENOENT || err == ENOTDIR || err == EACCES || err == EPERM ||
	       err == ELOOP;
}

/*
 * Read the run directory: name the namespaces of the set, and with
 * `add` also add the ones not in it (a namespace made by `ip netns add`
 * may have no process).  A run directory that does not exist holds no
 * names.  Returns 0 or -errno (no memory, out of descriptors).
 */
static int scan_run_dir(struct netns_set *set, int add)
{
	DIR *d = opendir(set->run_dir);
	int rc = 0;

	if (!d)
		return not_a_name(errno) ? 0 : -errno;
	while (!rc) {
		struct dirent *de;
		char path[4096];
		struct statfs sfs;
		struct stat st;
		struct netns_target *nt;

		errno = 0;
		de = readdir(d);
		if (!de) {
			rc = errno ? -errno : 0;
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", set->run_dir, de->d_name);
		/* A file whose namespace mount is gone is not a namespace. */
		if (statfs(path, &sfs) < 0 ||
		    ((int)sfs.f_type == (int)NSFS_MAGIC && stat(path, &st) < 0)) {
			if (!not_a_name(errno))
				rc = -errno;
			continue;
		}
		if ((int)sfs.f_type != (int)NSFS_MAGIC)
			continue;
		nt = find_ino(set, (uint32_t)st.st_ino);
		if (!nt && add) {
			nt = add_target(set, (uint32_t)st.st_ino, NETNS_VIA_SCAN, path);
			if (!nt) {
				rc = -ENOMEM;
				break;
			}
		}
		if (!nt)
			continue;
		rc = set_name(nt, de->d_name);
		/* A mounted name outlives the processes: enter through it. */
		if (!rc && add && nt->via == NETNS_VIA_SCAN && nt->pid &&
		    !strcmp(nt->name, de->d_name)) {
			char *p = strdup(path);

			if (!p) {
				rc = -ENOMEM;
				break;
			}
			free(nt->path);
			nt->path = p;
			nt->pid = 0;
		}
	}
	closedir(d);
	return rc;
}

int netns_scan(struct netns_set *set)
{
	int rc = netns_add_self(set);

	if (!rc)
		rc = each_proc(set->proc_root, &set->unreadable, &set->unreadable_err,
			       add_proc_netns, set);
	if (!rc)
		rc = scan_run_dir(set, 1);
	return rc;
}

int netns_name_all(struct netns_set *set)
{
	return scan_run_dir(set, 0);
}

/*
 * Open target nt to enter it.  A namespace found through a process that
 * has exited since (or whose PID now names another process) is looked
 * for again among the processes.  Returns 0 or -errno (-ENOENT: the
 * namespace is gone).
 */
static int open_target(const struct netns_set *set, struct netns_target *nt)
{
	struct pid_search search;
	uint32_t ino = 0;
	unsigned unreadable = 0;
	int tries, err = 0;

	if (nt->fd >= 0)
		return 0;
	if (!nt->path)
		return -ENOENT;
	for (tries = 0; tries < 3; tries++) {
		char path[4096];
		char *p;
		int rc, fd;

		fd = open_nsfs(nt->path, &ino);
		if (fd >= 0 && ino == nt->ino) {
			nt->fd = fd;
			return 0;
		}
		if (fd >= 0)
			close(fd);
		else if (fd != -ENOENT && fd != -ESRCH)
			return fd;
		if (nt->via != NETNS_VIA_SCAN || !nt->pid)
			return -ENOENT;
		search.ino = nt->ino;
		search.pid = 0;
		rc = each_proc(set->proc_root, &unreadable, &err, find_proc_in, &search);
		if (rc < 0)
			return rc;
		if (!search.pid)
			return -ENOENT;
		snprintf(path, sizeof(path), "%s/%d/ns/net", set->proc_root,
			 (int)search.pid);
		p = strdup(path);
		if (!p)
			return -ENOMEM;
		free(nt->path);
		nt->path = p;
		nt->pid = search.pid;
	}
	return -ENOENT;
}

int netns_enter(struct netns_set *set, size_t i)
{
	struct netns_target *nt = &set->v[i];
	int rc;

	if (!nt->tag)
		return 0;
	if (set->self_fd < 0) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/thread-self/ns/net", set->proc_root);
		set->self_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (set->self_fd < 0) {
			snprintf(path, sizeof(path), "%s/self/ns/net", set->proc_root);
			set->self_fd = open(path, O_RDONLY | O_CLOEXEC);
		}
		if (set->self_fd < 0)
			return nt->err = -errno;
	}
	rc = open_target(set, nt);
	if (rc)
		return nt->err = rc;
	if (setns(nt->fd, CLONE_NEWNET) < 0)
		rc = -errno;
	/* Namespaces found by a scan can be many: hold none of them open
	 * longer than needed (the setns keeps this one alive). */
	if (nt->via == NETNS_VIA_SCAN) {
		close(nt->fd);
		nt->fd = -1;
	}
	return nt->err = rc;
}

static atomic_bool lost;

int netns_return(struct netns_set *set)
{
	int rc = set->self_fd < 0 ? -EBADF :
		 setns(set->self_fd, CLONE_NEWNET) < 0 ? -errno : 0;

	if (rc)
		atomic_store(&lost, true);
	return rc;
}

bool netns_lost(void)
{
	return atomic_load(&lost);
}

const struct netns_target *netns_by_tag(const struct netns_set *set,
					uint32_t tag)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->v[i].tag == tag)
			return &set->v[i];
	return NULL;
}

uint32_t netns_ino_of(const struct netns_set *set, uint32_t tag)
{
	return tag ? tag : set->self;
}
