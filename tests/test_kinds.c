/*
 * Every socket kind on real sockets: tests/progs/kinds_helper holds UDP
 * sockets (one flooded until the kernel drops, one read to the end,
 * connected clients over IPv4 and IPv6), UNIX stream listeners on a path
 * and an abstract name with clients (two of them peer-closed), seqpacket,
 * datagram and unbound sockets, and pipes, eventfds and files.  What
 * sockaudit reports of it is checked against ss -uanpeOm, ss -xanpeO and
 * /proc/net/{udp,udp6,unix} for both sources, and its fd_types against
 * /proc/PID/fd read here.
 */
#include <check.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <dirent.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lib/http.h"
#include "lib/keyset.h"
#include "lib/testlib.h"
#include "lib/runsuite.h"

/* The running helper. */
struct helper {
	struct bg_proc p;
	pid_t pid;
	int port_flood, port_read, port_read6;
	char dir[64], pid_arg[24];
};

static void helper_start_args(struct helper *h, const char *extra)
{
	char path[PATH_MAX], line[128];
	const char *argv[4];

	snprintf(h->dir, sizeof(h->dir), "/tmp/sockaudit-kinds-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(h->dir));
	snprintf(path, sizeof(path), "%s/kinds_helper",
		 test_env_dir("TEST_PROGS", "build/tests/progs"));
	argv[0] = path;
	argv[1] = h->dir;
	argv[2] = extra;
	argv[3] = NULL;
	ck_assert_int_eq(bg_start(&h->p, argv, true), 0);
	if (bg_read_line(&h->p, line, sizeof(line), 10000) ||
	    sscanf(line, "ready %d %d %d", &h->port_flood, &h->port_read,
		   &h->port_read6) != 3)
		ck_abort_msg("kinds_helper did not start: %s", bg_stderr(&h->p));
	h->pid = h->p.pid;
	snprintf(h->pid_arg, sizeof(h->pid_arg), "%d", (int)h->pid);
}

static void helper_start(struct helper *h)
{
	helper_start_args(h, NULL);
}

static void helper_stop(struct helper *h)
{
	char path[PATH_MAX];

	bg_stop(&h->p, SIGKILL, 5000);
	bg_free(&h->p);
	snprintf(path, sizeof(path), "%s/srv.sock", h->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/file", h->dir);
	unlink(path);
	rmdir(h->dir);
}

/* Split a line into at most max whitespace-separated words (in place). */
static int words(char *line, char **w, int max)
{
	int n = 0;
	char *save = NULL, *t;

	for (t = strtok_r(line, " \t\n", &save); t && n < max;
	     t = strtok_r(NULL, " \t\n", &save))
		w[n++] = t;
	return n;
}

/* The word that starts with prefix, or NULL. */
static const char *word_with(char **w, int n, const char *prefix)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strncmp(w[i], prefix, strlen(prefix)))
			return w[i];
	return NULL;
}

/* ss's state names as sockaudit's. */
static const char *ss_state(const char *s)
{
	if (!strcmp(s, "ESTAB"))
		return "established";
	if (!strcmp(s, "LISTEN"))
		return "listen";
	if (!strcmp(s, "UNCONN"))
		return "unconnected";
	return s;
}

/* The port after the last ':' ("*" is 0). */
static int port_of(const char *ep)
{
	const char *c = strrchr(ep, ':');

	return c && c[1] != '*' ? atoi(c + 1) : 0;
}

/* Run a command and return its stdout (checked to succeed). */
static char *cmd_out(const char *const argv[])
{
	struct run_result r;
	char *out;

	ck_assert_int_eq(run_cmd(argv, NULL, RUN_TIMEOUT_MS, &r), 0);
	ck_assert_msg(r.status == 0, "%s: %s", argv[0], run_describe(&r));
	out = strdup(r.out);
	run_result_free(&r);
	return out;
}

/* sockaudit's report as JSON, checked to exit 0. */
static cJSON *report(const char *const args[])
{
	struct run_result r;
	cJSON *doc;

	run_sockaudit_v(&r, NULL, args);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	doc = json_report(&r);
	run_result_free(&r);
	return doc;
}

/* "inode fd" of the helper's owner entry of a socket, or -1. */
static long owner_fd(const cJSON *s, pid_t pid)
{
	const cJSON *p = json_socket_process(s, pid);

	return p ? json_int(p, "fd") : -1;
}

/* A JSON string or "*" for null. */
static const char *str_or_star(const cJSON *o, const char *key)
{
	return json_is_null(o, key) ? "*" : json_str(o, key);
}

/* ---- UNIX ---------------------------------------------------------- */

/* The helper's UNIX sockets as sockaudit reports them: "inode fd state
 * type path peer queues", and how many are peer_closed. */
static void unix_keys(const cJSON *doc, pid_t pid, struct keyset *ks,
		      struct keyset *closed)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, json_array(doc, "sockets")) {
		char key[KEY_LEN];

		ck_assert_str_eq(json_str(s, "protocol"), "unix");
		ck_assert_str_eq(json_str(s, "family"), "unix");
		ck_assert(json_is_null(s, "local_address") && json_is_null(s, "remote_port"));
		snprintf(key, sizeof(key), "%lld %ld %s %s %lld %lld %lld",
			 json_int(s, "inode"), owner_fd(s, pid), json_str(s, "state"),
			 str_or_star(s, "path"),
			 json_is_null(s, "peer_inode") ? 0 : json_int(s, "peer_inode"),
			 json_int(s, "recv_q"), json_int(s, "send_q"));
		keyset_add(ks, key);
		if (closed && json_has_flag(s, "peer_closed")) {
			snprintf(key, sizeof(key), "%lld", json_int(s, "inode"));
			keyset_add(closed, key);
		}
	}
}

START_TEST(test_unix_vs_ss)
{
	struct helper h;
	const char *ssargs[] = { "ss", "-xanpeO", NULL };
	const char *args[] = { "-x", "-j", "--pid", NULL, NULL };
	struct keyset got = { 0 }, want = { 0 }, gclosed = { 0 }, wclosed = { 0 };
	char needle[48], *out, *line, *save = NULL, srv[PATH_MAX];
	const cJSON *g;
	cJSON *doc;

	helper_start(&h);
	args[3] = h.pid_arg;
	doc = report(args);
	out = cmd_out(ssargs);
	snprintf(needle, sizeof(needle), "pid=%d,", (int)h.pid);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *w[32], key[KEY_LEN];
		const char *users, *fd;
		int n;

		if (!strstr(line, needle))
			continue;
		n = words(line, w, 32);
		ck_assert_int_ge(n, 9);
		users = word_with(w, n, "users:");
		fd = users ? strstr(users, needle) : NULL;
		fd = fd ? strstr(fd, "fd=") : NULL;
		ck_assert_ptr_nonnull(fd);
		/* Netid State Recv-Q Send-Q Local Inode Peer PeerInode */
		snprintf(key, sizeof(key), "%s %d %s %s %s %s %s", w[5], atoi(fd + 3),
			 ss_state(w[1]), w[4], w[7], w[2], w[3]);
		keyset_add(&want, key);
		if (word_with(w, n, "---") && !strcmp(w[1], "ESTAB") &&
		    strcmp(w[0], "u_dgr"))
			keyset_add(&wclosed, w[5]);
	}
	free(out);
	unix_keys(doc, h.pid, &got, &gclosed);
	keyset_expect_same(&got, &want, "UNIX sockets (sockaudit -x vs ss -xanpeO)");
	ck_assert_uint_eq(gclosed.n, 2);
	keyset_expect_same(&gclosed, &wclosed, "peer_closed (sockaudit vs ss's ---)");

	/* Groups: the path's listener and accepted end, its client; the
	 * abstract listener with two accepted ends and two clients. */
	snprintf(srv, sizeof(srv), "%s/srv.sock", h.dir);
	g = NULL;
	cJSON_ArrayForEach(g, json_array(doc, "groups")) {
		const char *side = json_str(g, "side");
		const char *path = !strcmp(side, "process") || json_is_null(g, "path") ?
					   NULL : json_str(g, "path");

		ck_assert_str_eq(json_str(g, "protocol"), "unix");
		if (path && !strcmp(path, srv))
			ck_assert_int_eq(json_int(g, "sockets"), !strcmp(side, "server") ? 2 : 1);
		else if (path && !strncmp(path, "@sockaudit-kinds-", 17))
			ck_assert_int_eq(json_int(g, "sockets"), !strcmp(side, "server") ? 3 : 2);
		else
			ck_assert_str_eq(side, "process");
	}
	ck_assert_int_eq(json_int(json_object(doc, "totals"), "peer_closed"), 2);
	cJSON_Delete(doc);
	helper_stop(&h);
}
END_TEST

/* /proc/net/unix lines of the given inodes: "inode state path". */
static void proc_unix_keys(const struct keyset *inodes, struct keyset *want)
{
	FILE *f = fopen("/proc/net/unix", "re");
	char line[1024];

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		char *w[16], key[KEY_LEN];
		unsigned long flags, st;
		size_t i;
		int n = words(line, w, 16), found = 0;

		if (n < 7 || !strcmp(w[0], "Num"))
			continue;
		for (i = 0; i < inodes->n && !found; i++)
			found = !strcmp(inodes->keys[i], w[6]);
		if (!found)
			continue;
		flags = strtoul(w[3], NULL, 16);
		st = strtoul(w[5], NULL, 16);
		snprintf(key, sizeof(key), "%s %s %s", w[6],
			 flags & 0x10000 ? "listen" : st == 3 ? "established" : "unconnected",
			 n > 7 ? w[7] : "*");
		keyset_add(want, key);
	}
	fclose(f);
}

START_TEST(test_unix_proc_source)
{
	struct helper h;
	const char *args[] = { "-x", "-j", "--source", "proc", "--pid", NULL, NULL };
	struct keyset got = { 0 }, want = { 0 }, inodes = { 0 };
	struct run_result r;
	const cJSON *s;
	cJSON *doc;

	helper_start(&h);
	args[5] = h.pid_arg;
	run_sockaudit_v(&r, NULL, args);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	ck_assert_msg(count_lines_containing(r.err, "/proc/net/unix has no peers") == 1,
		      "%s", r.err);
	doc = json_report(&r);
	run_result_free(&r);
	ck_assert_str_eq(json_str(doc, "source"), "proc");
	cJSON_ArrayForEach(s, json_array(doc, "sockets")) {
		char key[KEY_LEN];

		ck_assert(json_is_null(s, "peer_inode") && json_is_null(s, "peer_path"));
		ck_assert(!json_has_flag(s, "peer_closed"));
		/* Nor uid or queues: null, not 0. */
		ck_assert(json_is_null(s, "uid") && json_is_null(s, "recv_q") &&
			  json_is_null(s, "send_q"));
		ck_assert_int_ge(owner_fd(s, h.pid), 0);
		snprintf(key, sizeof(key), "%lld", json_int(s, "inode"));
		keyset_add(&inodes, key);
		snprintf(key, sizeof(key), "%lld %s %s", json_int(s, "inode"),
			 json_str(s, "state"), str_or_star(s, "path"));
		keyset_add(&got, key);
	}
	ck_assert_uint_eq(inodes.n, 15);
	proc_unix_keys(&inodes, &want);
	free(inodes.keys);
	keyset_expect_same(&got, &want, "UNIX sockets (--source proc vs /proc/net/unix)");
	cJSON_Delete(doc);
	helper_stop(&h);
}
END_TEST

/* ---- UDP ----------------------------------------------------------- */

/* The helper's UDP sockets as sockaudit reports them. */
static void udp_keys(const cJSON *doc, pid_t pid, struct keyset *ks)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, json_array(doc, "sockets")) {
		char key[KEY_LEN];

		ck_assert_str_eq(json_str(s, "protocol"), "udp");
		snprintf(key, sizeof(key), "%lld %ld %s %lld %lld %lld %lld",
			 json_int(s, "inode"), owner_fd(s, pid), json_str(s, "state"),
			 json_int(s, "local_port"), json_int(s, "remote_port"),
			 json_int(s, "recv_q"), json_int(s, "drops"));
		keyset_add(ks, key);
	}
}

/* sockaudit -u for the helper against ss -uanpeOm, and the flags. */
START_TEST(test_udp_vs_ss)
{
	struct helper h;
	const char *ssargs[] = { "ss", "-uanpeOm", NULL };
	const char *args[] = { "-u", "-j", "--pid", NULL, NULL };
	struct keyset got = { 0 }, want = { 0 };
	char needle[48], *out, *line, *save = NULL;
	const cJSON *s;
	cJSON *doc;
	int flagged = 0;

	helper_start(&h);
	args[3] = h.pid_arg;
	doc = report(args);
	out = cmd_out(ssargs);
	snprintf(needle, sizeof(needle), "pid=%d,", (int)h.pid);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *w[32], key[KEY_LEN];
		const char *fd, *ino, *skmem, *d;
		int n;

		if (!strstr(line, needle))
			continue;
		n = words(line, w, 32);
		fd = strstr(word_with(w, n, "users:"), "fd=");
		ino = word_with(w, n, "ino:");
		skmem = word_with(w, n, "skmem:");
		d = skmem ? strstr(skmem, ",d") : NULL;
		ck_assert(fd && ino && d);
		/* State Recv-Q Send-Q Local Peer */
		snprintf(key, sizeof(key), "%s %d %s %d %d %s %d", ino + 4, atoi(fd + 3),
			 ss_state(w[0]), port_of(w[3]), port_of(w[4]), w[1], atoi(d + 2));
		keyset_add(&want, key);
	}
	free(out);
	udp_keys(doc, h.pid, &got);
	keyset_expect_same(&got, &want, "UDP sockets (sockaudit -u vs ss -uanpeOm)");
	cJSON_ArrayForEach(s, json_array(doc, "sockets")) {
		int lport = (int)json_int(s, "local_port");

		if (json_has_flag(s, "dropping")) {
			flagged++;
			ck_assert_int_eq(lport, h.port_flood);
			ck_assert_int_gt(json_int(s, "drops"), 0);
		}
		if (lport == h.port_read || lport == h.port_read6)
			ck_assert_str_eq(json_str(s, "state"), "unconnected");
		if (json_int(s, "remote_port") == h.port_read ||
		    json_int(s, "remote_port") == h.port_read6)
			ck_assert_str_eq(json_str(s, "state"), "established");
	}
	ck_assert_int_eq(flagged, 1);
	cJSON_Delete(doc);
	helper_stop(&h);
}
END_TEST

/* /proc/net/udp{,6} rows of the given inodes: "inode state lport rport
 * drops uid recv_q send_q". */
static void proc_udp_keys(const char *file, const struct keyset *inodes,
			  struct keyset *want)
{
	FILE *f = fopen(file, "re");
	char line[1024];

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		char *w[20], key[KEY_LEN];
		size_t i;
		int n = words(line, w, 20), found = 0;

		if (n < 13 || !strcmp(w[0], "sl"))
			continue;
		for (i = 0; i < inodes->n && !found; i++)
			found = !strcmp(inodes->keys[i], w[9]);
		if (!found)
			continue;
		/* tx_queue:rx_queue in hex */
		snprintf(key, sizeof(key), "%s %s %ld %ld %s %s %lu %lu", w[9],
			 strtoul(w[3], NULL, 16) == 1 ? "established" : "unconnected",
			 strtol(strrchr(w[1], ':') + 1, NULL, 16),
			 strtol(strrchr(w[2], ':') + 1, NULL, 16), w[12], w[7],
			 strtoul(strchr(w[4], ':') + 1, NULL, 16), strtoul(w[4], NULL, 16));
		keyset_add(want, key);
	}
	fclose(f);
}

START_TEST(test_udp_proc_source)
{
	struct helper h;
	const char *args[] = { "-u", "-j", "--source", "proc", "--pid", NULL, NULL };
	struct keyset got = { 0 }, want = { 0 }, inodes = { 0 };
	const cJSON *s;
	cJSON *doc;
	int flagged = 0;

	helper_start(&h);
	args[5] = h.pid_arg;
	doc = report(args);
	cJSON_ArrayForEach(s, json_array(doc, "sockets")) {
		char key[KEY_LEN];

		snprintf(key, sizeof(key), "%lld", json_int(s, "inode"));
		keyset_add(&inodes, key);
		/* The file has the uid and queues: numbers, as read. */
		snprintf(key, sizeof(key), "%lld %s %lld %lld %lld %lld %lld %lld",
			 json_int(s, "inode"), json_str(s, "state"), json_int(s, "local_port"),
			 json_int(s, "remote_port"), json_int(s, "drops"), json_int(s, "uid"),
			 json_int(s, "recv_q"), json_int(s, "send_q"));
		keyset_add(&got, key);
		flagged += json_has_flag(s, "dropping");
	}
	ck_assert_uint_eq(inodes.n, 5);
	ck_assert_int_eq(flagged, 1);
	proc_udp_keys("/proc/net/udp", &inodes, &want);
	proc_udp_keys("/proc/net/udp6", &inodes, &want);
	free(inodes.keys);
	keyset_expect_same(&got, &want, "UDP sockets (--source proc vs /proc/net/udp*)");
	cJSON_Delete(doc);
	helper_stop(&h);
}
END_TEST

/* The CI assertion on a flooded reader: --flag dropping --max 0 fails,
 * and holds on the port that reads everything. */
START_TEST(test_udp_dropping_assertion)
{
	struct helper h;
	struct run_result r;
	char port[16];
	const char *fail[] = { "-u", "--flag", "dropping", "--max", "0", "--pid", NULL,
			       NULL };
	const char *ok[] = { "-u", "-P", port, "--flag", "dropping", "--max", "0",
			     "--pid", NULL, NULL };

	helper_start(&h);
	fail[6] = h.pid_arg;
	ok[8] = h.pid_arg;
	snprintf(port, sizeof(port), "%d", h.port_read);
	run_sockaudit_v(&r, NULL, fail);
	ck_assert_msg(r.status == 1, "%s", run_describe(&r));
	run_result_free(&r);
	run_sockaudit_v(&r, NULL, ok);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	run_result_free(&r);
	helper_stop(&h);
}
END_TEST

/* ---- fd_types ------------------------------------------------------ */

/* The helper's descriptors by kind, read here from /proc/PID/fd. */
static void proc_fd_types(pid_t pid, long long types[8])
{
	static const char *const names[] = { "TCP", "TCPv6", "UDP", "UDPv6",
					     "UNIX", "UNIX-STREAM" };
	static const int kind[] = { 0, 0, 1, 1, 2, 2 };
	char dir[64], path[512], link[256], proto[32];
	struct dirent *de;
	DIR *d;

	memset(types, 0, 8 * sizeof(types[0]));
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		ssize_t n;
		size_t i;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		ck_assert_int_gt(n, 0);
		link[n] = '\0';
		if (!strncmp(link, "socket:", 7)) {
			int k = 3;

			n = getxattr(path, "system.sockprotoname", proto, sizeof(proto) - 1);
			ck_assert_int_gt(n, 0);
			proto[n] = '\0';
			for (i = 0; i < sizeof(kind) / sizeof(kind[0]); i++)
				if (!strcmp(proto, names[i]))
					k = kind[i];
			types[k]++;
		} else if (!strncmp(link, "pipe:", 5)) {
			types[4]++;
		} else if (!strncmp(link, "anon_inode:", 11)) {
			types[5]++;
		} else {
			types[link[0] == '/' ? 6 : 7]++;
		}
	}
	closedir(d);
}

START_TEST(test_fd_types)
{
	static const char *const keys[8] = { "tcp", "udp", "unix", "other_socket",
					     "pipe", "anon_inode", "file", "other" };
	const char *kinds[] = { "-u", "-x", "--source" };
	struct helper h;
	long long want[8];
	size_t k;
	int i;

	helper_start(&h);
	proc_fd_types(h.pid, want);
	/* What the helper opened, at least (stdio adds pipes and files). */
	ck_assert_int_eq(want[1], 5);
	ck_assert_int_eq(want[2], 15);
	ck_assert_int_ge(want[4], 6);
	ck_assert_int_ge(want[5], 2);
	ck_assert_int_ge(want[6], 2);
	for (k = 0; k < 3; k++) {
		const char *args[] = { kinds[k], "-j", "--pid", h.pid_arg, NULL, NULL, NULL };
		const cJSON *types;
		cJSON *doc;

		/* The third run: UDP from /proc, the UNIX kinds from xattrs. */
		if (k == 2) {
			args[0] = "-u";
			args[4] = "--source";
			args[5] = "proc";
		}
		doc = report(args);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "processes")), 1);
		types = json_object(cJSON_GetArrayItem(json_array(doc, "processes"), 0),
				    "fd_types");
		for (i = 0; i < 8; i++)
			ck_assert_msg(json_int(types, keys[i]) == want[i],
				      "%s %s: fd_types.%s %lld, /proc says %lld", kinds[k],
				      args[4] ? "proc" : "", keys[i], json_int(types, keys[i]),
				      want[i]);
		cJSON_Delete(doc);
	}
	helper_stop(&h);
}
END_TEST

/* --watch on a process leaking pipes: fd_types_delta says which kind
 * grows, in JSON and in the table's FD_TYPES cell. */
START_TEST(test_fd_types_watch)
{
	const char *args[] = { "-x", "--pid", NULL, "--watch", "300ms", "--count", "4",
			       "-j", NULL };
	struct helper h;
	struct run_result r;
	const cJSON *p, *d;
	char *last, *nl;
	cJSON *doc;

	helper_start_args(&h, "leak-pipes");
	args[2] = h.pid_arg;
	run_sockaudit_v(&r, NULL, args);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	/* The last NDJSON line. */
	r.out[r.out_len - 1] = '\0';
	nl = strrchr(r.out, '\n');
	last = nl ? nl + 1 : r.out;
	doc = cJSON_Parse(last);
	ck_assert_ptr_nonnull(doc);
	p = cJSON_GetArrayItem(json_array(doc, "processes"), 0);
	d = json_object(json_object(p, "growth"), "fd_types_delta");
	ck_assert_int_gt(json_int(d, "pipe"), 0);
	ck_assert_int_eq(json_int(d, "unix"), 0);
	ck_assert_int_eq(json_int(d, "udp"), 0);
	cJSON_Delete(doc);
	run_result_free(&r);

	args[7] = NULL; /* the table */
	run_sockaudit_v(&r, NULL, args);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	ck_assert_msg(strstr(r.out, ",pipe=") && strstr(r.out, "(+"), "%s", r.out);
	run_result_free(&r);
	helper_stop(&h);
}
END_TEST

static Suite *kinds_suite(void)
{
	Suite *s = suite_create("kinds");
	TCase *tc = tcase_create("real");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_unix_vs_ss);
	tcase_add_test(tc, test_unix_proc_source);
	tcase_add_test(tc, test_udp_vs_ss);
	tcase_add_test(tc, test_udp_proc_source);
	tcase_add_test(tc, test_udp_dropping_assertion);
	tcase_add_test(tc, test_fd_types);
	tcase_add_test(tc, test_fd_types_watch);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int failed = run_suite(kinds_suite());

	bg_cleanup_all();
	return failed;
}
