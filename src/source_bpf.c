/*
 * Source: BPF iterators (src/bpf/sockaudit.bpf.c), loaded from the
 * light skeleton bpftool generated at build time, which holds the
 * compiled programs and a loader program: the kernel relocates them
 * (CO-RE) against its own BTF, so no library parses the megabytes of
 * /sys/kernel/btf/vmlinux in this process.
 *
 * The programs are loaded once per process and kept: loading still
 * runs the verifier, which --watch and the exporter should not pay at
 * every audit.  Each read creates a new
 * iterator, in the network namespace the thread is in at that moment.
 * Built without SOCKAUDIT_BPF (no clang, bpftool or libbpf), only the
 * decoder is here and loading says -EOPNOTSUPP.
 */
#include "source_bpf.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf/records.h"

/* The kernel's TCP_NEW_SYN_RECV: a request socket. */
#define BPF_ST_NEW_SYN_RECV 12

/* One record into the table, when selected.  Returns 0 or -ENOMEM. */
static int add_tcp(const struct sa_tcp_rec *in, struct sock_table *t,
		   unsigned families, uint32_t states)
{
	unsigned fam = in->family == AF_INET ? FAMILY_INET : FAMILY_INET6;
	uint8_t state = in->state == BPF_ST_NEW_SYN_RECV ? ST_SYN_RECV : in->state;
	struct sock_rec *r;

	if (in->family != AF_INET && in->family != AF_INET6)
		return 0;
	if (state < ST_ESTABLISHED || state >= ST_NEW_SYN_RECV)
		return 0;
	/* As the netlink source: the selected families and states, and
	 * the listeners of either family. */
	if (state != ST_LISTEN && (!(families & fam) || !(states & STATE_BIT(state))))
		return 0;
	r = table_add_sock(t);
	if (!r)
		return -ENOMEM;
	memcpy(r->laddr, in->laddr, sizeof(r->laddr));
	memcpy(r->raddr, in->raddr, sizeof(r->raddr));
	if (in->family == AF_INET) {
		memset(r->laddr + 4, 0, sizeof(r->laddr) - 4);
		memset(r->raddr + 4, 0, sizeof(r->raddr) - 4);
	}
	r->family = in->family;
	r->state = state;
	r->lport = in->lport;
	r->rport = in->rport;
	r->inode = in->inode;
	r->uid = in->uid;
	r->recv_q = in->recv_q;
	r->send_q = in->send_q;
	r->has_times = in->has_times ? 1 : 0;
	if (r->has_times) {
		r->last_recv_ms = in->last_recv_ms;
		r->last_send_ms = in->last_send_ms;
	}
	if (state == ST_LISTEN && table_mark_listener(t, r->lport) < 0)
		return -ENOMEM;
	return 0;
}

int bpf_decode_tcp(const void *buf, size_t len, struct sock_table *t,
		   unsigned families, uint32_t states)
{
	const unsigned char *p = buf;
	size_t off;

	if (len % sizeof(struct sa_tcp_rec))
		return -EBADMSG;
	for (off = 0; off < len; off += sizeof(struct sa_tcp_rec)) {
		struct sa_tcp_rec rec;
		int rc;

		/* Copied out: the buffer need not be aligned. */
		memcpy(&rec, p + off, sizeof(rec));
		rc = add_tcp(&rec, t, families, states);
		if (rc)
			return rc;
	}
	return 0;
}

/* What bpf_dump_tcp decodes into, for bpf_read_iter_each. */
struct tcp_sink {
	struct sock_table *t;
	unsigned families;
	uint32_t states;
};

static int tcp_chunk(const void *buf, size_t len, void *arg)
{
	const struct tcp_sink *k = arg;

	return bpf_decode_tcp(buf, len, k->t, k->families, k->states);
}

int bpf_dump_tcp(struct sock_table *t, unsigned families, uint32_t states)
{
	struct tcp_sink k = { t, families, states };

	return bpf_read_iter_each(BPF_ITER_TCP, sizeof(struct sa_tcp_rec), tcp_chunk, &k);
}

const char *bpf_load_error(int err)
{
	switch (err) {
	case -EOPNOTSUPP:
		return "not built with BPF support";
	case -ENOENT:
		return "the kernel has no BTF (/sys/kernel/btf/vmlinux)";
	case -EPERM:
	case -EACCES:
		return "needs CAP_BPF and CAP_PERFMON";
	case -ENODATA:
		return "cannot read the kernel's CONFIG_HZ (/boot/config-RELEASE or /proc/config.gz)";
	case -ENOSYS:
		return "needs kernel 5.17 or later (the kernel relocates the programs)";
	default:
		return NULL;
	}
}

#ifdef SOCKAUDIT_BPF

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <zlib.h>

/* The light skeleton (bpftool gen skeleton -L): a loader program the
 * kernel runs does the CO-RE relocations against the BTF it already
 * holds, so nothing here parses /sys/kernel/btf/vmlinux. */
#include "sockaudit.skel.h"

#define BTF_PATH "/sys/kernel/btf/vmlinux"

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sa_bpf *loaded;
static int link_fd[3] = { -1, -1, -1 };
static int load_result = 1; /* 1: not tried yet */

int bpf_built(void)
{
	return 1;
}

/* At exit: the skeleton's memory freed, for the memory checkers. */
static void unload(void)
{
	sa_bpf__destroy(loaded);
	loaded = NULL;
}

/* The value of "CONFIG_HZ=" in one line of a kernel configuration, or
 * 0 when the line is another. */
static int hz_of_line(const char *line)
{
	static const char key[] = "CONFIG_HZ=";
	long v;

	if (strncmp(line, key, sizeof(key) - 1) != 0)
		return 0;
	v = strtol(line + sizeof(key) - 1, NULL, 10);
	return v > 0 && v <= 100000 ? (int)v : 0;
}

/*
 * The running kernel's CONFIG_HZ, where libbpf looks for it:
 * /boot/config-RELEASE, then /proc/config.gz (gzip reads either).
 * The skeleton carries the build host's value, which another kernel
 * need not share.  Returns HZ or -ENODATA.
 */
static int kernel_hz(void)
{
	char path[PATH_MAX], line[256];
	const char *paths[2] = { path, "/proc/config.gz" };
	struct utsname u;
	int i, hz = 0;

	if (uname(&u) < 0)
		paths[0] = NULL;
	else
		snprintf(path, sizeof(path), "/boot/config-%s", u.release);
	for (i = 0; i < 2 && !hz; i++) {
		gzFile f = paths[i] ? gzopen(paths[i], "rb") : NULL;

		if (!f)
			continue;
		while (!hz && gzgets(f, line, (int)sizeof(line)))
			hz = hz_of_line(line);
		gzclose(f);
	}
	return hz ? hz : -ENODATA;
}

/* Load and attach the three iterators.  Returns 0 or -errno. */
/*
 * Whether the running kernel is older than 5.17, the first to run a
 * light skeleton's loader (CO-RE relocations in the kernel).  Only used
 * to name the cause of a failed load: a kernel that backported it loads.
 */
static bool kernel_too_old(void)
{
	struct utsname u;
	unsigned long major, minor;
	char *end;

	if (uname(&u) < 0)
		return false;
	major = strtoul(u.release, &end, 10);
	if (end == u.release || *end != '.')
		return false;
	minor = strtoul(end + 1, &end, 10);
	return major < 5 || (major == 5 && minor < 17);
}

static int load_once(void)
{
	struct sa_bpf *skel;
	int hz, err;

	if (access(BTF_PATH, R_OK) < 0)
		return errno == EACCES ? -EPERM : -ENOENT;
	hz = kernel_hz();
	if (hz < 0)
		return hz;
	skel = sa_bpf__open();
	if (!skel)
		return -ENOMEM;
	skel->kconfig->CONFIG_HZ = hz;
	err = sa_bpf__load(skel);
	if (!err)
		err = sa_bpf__attach(skel);
	if (err) {
		sa_bpf__destroy(skel);
		if (err != -EPERM && err != -EACCES && kernel_too_old())
			return -ENOSYS;
		return err < 0 ? err : -EINVAL;
	}
	link_fd[BPF_ITER_TCP] = skel->links.sa_tcp_fd;
	link_fd[BPF_ITER_TASK_FILE] = skel->links.sa_task_file_fd;
	link_fd[BPF_ITER_TASK] = skel->links.sa_task_fd;
	loaded = skel;
	atexit(unload);
	return 0;
}

int bpf_load(void)
{
	int rc;

	pthread_mutex_lock(&load_lock);
	if (load_result == 1)
		load_result = load_once();
	rc = load_result;
	pthread_mutex_unlock(&load_lock);
	return rc;
}

/* A new iterator of a link: BPF_ITER_CREATE.  Returns its fd or
 * -errno. */
static int iter_create(int link)
{
	union bpf_attr attr;
	long fd;

	memset(&attr, 0, sizeof(attr));
	attr.iter_create.link_fd = (__u32)link;
	fd = syscall(__NR_bpf, BPF_ITER_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : (int)fd;
}

/* Bytes read at a time by bpf_read_iter_each: 256 KiB, eight of the
 * iterator's own 8-page buffers (one read gives at most one of them). */
#define ITER_CHUNK (256u << 10)

int bpf_read_iter_each(enum bpf_iter_kind kind, size_t rec_size,
		       int (*each)(const void *buf, size_t len, void *arg), void *arg)
{
	unsigned char *b;
	size_t have = 0;
	int rc = bpf_load(), fd;

	if (rc)
		return rc;
	if ((unsigned)kind > BPF_ITER_TASK || !rec_size || rec_size > ITER_CHUNK)
		return -EINVAL;
	b = malloc(ITER_CHUNK);
	if (!b)
		return -ENOMEM;
	fd = iter_create(link_fd[kind]);
	if (fd < 0) {
		free(b);
		return fd;
	}
	for (;;) {
		ssize_t n = read(fd, b + have, ITER_CHUNK - have);
		size_t whole;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : have ? -EBADMSG : 0;
			break;
		}
		have += (size_t)n;
		/* Whole records to the caller; a piece of one waits. */
		whole = have - have % rec_size;
		rc = whole ? each(b, whole, arg) : 0;
		if (rc)
			break;
		memmove(b, b + whole, have - whole);
		have -= whole;
	}
	close(fd);
	free(b);
	return rc;
}

#else /* !SOCKAUDIT_BPF */

int bpf_read_iter_each(enum bpf_iter_kind kind, size_t rec_size,
		       int (*each)(const void *buf, size_t len, void *arg), void *arg)
{
	(void)kind;
	(void)rec_size;
	(void)each;
	(void)arg;
	return -EOPNOTSUPP;
}

int bpf_built(void)
{
	return 0;
}

int bpf_load(void)
{
	return -EOPNOTSUPP;
}

#endif
