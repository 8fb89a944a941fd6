/*
 * Unit tests for render.h: a hand-made table, audited, rendered into
 * memory and compared with saved files (tests/data/expected):
 *
 *   render.json         written by hand from the contract ("JSON"); it is
 *                       compared as JSON, so spacing and key order do not
 *                       matter, but every key and value does, and no key
 *                       may be missing or added
 *   render_groups.txt   the table layouts; the contract fixes only the
 *   render_list.txt     escaping of names, the rest is the renderer's own
 *                       design, pinned here byte for byte
 *   render.prom         the Prometheus exposition, byte for byte (it is
 *                       also read back by tests/lib/prom.c, which checks
 *                       the format's rules)
 *
 * One process has a hostile name: ESC, newline, tab, quotes, a backslash,
 * a stray byte 0xff and the C1 character CSI (0xc2 0x9b).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>

#include "audit.h"
#include "lib/prom.h"
#include "netns.h"
#include "render.h"
#include "table.h"
#include "text.h"
#include "workload.h"
#include "lib/runsuite.h"

#define HOSTILE "\x1b[31mev\nil\t\"q\"\\\xff\xc2\x9b"
#define HOSTILE_TABLE "\\x1b[31mev\\x0ail\\x09\"q\"\\\\\\xff\\xc2\\x9b"
/* What a JSON parser must read back: U+FFFD for the stray byte. */
#define HOSTILE_JSON "\x1b[31mev\nil\t\"q\"\\\xef\xbf\xbd\xc2\x9b"
#define WORKER "w\xc3\xb6rker" /* valid UTF-8 stays as it is */

static char data_dir[PATH_MAX];

/* ---- the fixture --------------------------------------------------- */

struct sk {
	int family, state, origin;
	const char *laddr; /* NULL: unknown */
	uint16_t lport;
	const char *raddr;
	uint16_t rport;
	uint32_t inode, uid, recv_q, send_q;
	int has_times;
	uint32_t last_recv, last_send;
};

static const struct sk socks[] = {
	/* 0 */ { AF_INET, ST_LISTEN, ORIGIN_KERNEL, "127.0.0.1", 8080, "0.0.0.0",
		  0, 48210, 1000, 0, 128, 1, 5, 5 },
	/* 1 */ { AF_INET, ST_ESTABLISHED, ORIGIN_KERNEL, "127.0.0.1", 8080,
		  "127.0.0.1", 51234, 48211, 1000, 0, 0, 1, 70000, 65000 },
	/* 2 */ { AF_INET, ST_CLOSE_WAIT, ORIGIN_KERNEL, "127.0.0.1", 8080,
		  "127.0.0.1", 51236, 48213, 1000, 1, 0, 1, 1500, 1500 },
	/* 3 */ { AF_INET, ST_ESTABLISHED, ORIGIN_KERNEL, "10.0.0.1", 50000,
		  "10.0.0.5", 443, 50001, 0, 10, 20, 1, 90000, 100 },
	/* 4 */ { AF_INET6, ST_TIME_WAIT, ORIGIN_KERNEL, "::1", 50010, "::1", 8080,
		  0, 0, 0, 0, 0, 0, 0 },
	/* 5 */ { AF_INET, ST_CLOSE, ORIGIN_FD, NULL, 0, NULL, 0, 60001, 1000, 0, 0,
		  0, 0, 0 },
	/* 6 */ { AF_INET6, ST_CLOSE, ORIGIN_FD, "::1", 40001, NULL, 0, 60002, 1000,
		  0, 0, 0, 0, 0 },
};

struct fixture {
	struct sock_table t;
	struct audit a;
	struct render_opts ro;
};

static void add_socks(struct sock_table *t)
{
	size_t i;

	for (i = 0; i < sizeof(socks) / sizeof(socks[0]); i++) {
		const struct sk *k = &socks[i];
		struct sock_rec *r = table_add_sock(t);

		ck_assert_ptr_nonnull(r);
		r->family = (uint8_t)k->family;
		r->state = (uint8_t)k->state;
		r->origin = (uint8_t)k->origin;
		/* A dead socket's local end is the released one. */
		r->has_local = k->laddr != NULL && k->origin != ORIGIN_FD;
		r->released = k->laddr != NULL && k->origin == ORIGIN_FD;
		if (k->laddr)
			ck_assert_int_eq(inet_pton(k->family, k->laddr, r->laddr), 1);
		if (k->raddr)
			ck_assert_int_eq(inet_pton(k->family, k->raddr, r->raddr), 1);
		r->lport = k->lport;
		r->rport = k->rport;
		r->inode = k->inode;
		r->uid = k->uid;
		r->recv_q = k->recv_q;
		r->send_q = k->send_q;
		r->has_times = (uint8_t)k->has_times;
		r->last_recv_ms = k->last_recv;
		r->last_send_ms = k->last_send;
		if (k->state == ST_LISTEN)
			ck_assert_int_eq(table_mark_listener(t, k->lport), 0);
	}
}

static void owner(struct sock_table *t, uint32_t sock, uint32_t proc, int fd)
{
	ck_assert_int_eq(table_add_owner(t, sock, proc, fd), 0);
}

static void set_fds(struct proc_rec *p, uint32_t fds, uint32_t socket_fds,
		    uint64_t limit)
{
	p->fds = fds;
	p->socket_fds = socket_fds;
	p->fd_limit = limit;
	p->has_fd_limit = 1;
	/* Its descriptors by kind: the sockets TCP, the rest pipes and files. */
	p->fd_types[FDT_TCP] = socket_fds;
	p->fd_types[FDT_PIPE] = (fds - socket_fds) / 2;
	p->fd_types[FDT_FILE] = fds - socket_fds - (fds - socket_fds) / 2;
}

/* Workloads: the server a systemd service, the hostile process a pod's
 * container whose runtime state holds hostile names, the worker none
 * (every field null). */
#define CTR_ID "4f3e8a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccdd"
#define POD_UID "1b2c3d4e-0000-1111-2222-333344445555"

static struct wl_container pod_ctr = {
	.key = CTR_ID, .is_container = true, .id = CTR_ID,
	.runtime = "containerd", .name = "srv\x1b[2J\n\"x\"", .has_pod = true,
	.pod_namespace = "payments", .pod_name = "api-5d8b\t\xff", .pod_uid = POD_UID,
	.pod_container = "server",
};
static struct workload server_wl = {
	.resolved = true, .cgroup = "/system.slice/api.service",
	.unit = "api.service",
};
static struct workload hostile_wl = {
	.resolved = true,
	.cgroup = "/kubepods/burstable/pod" POD_UID "/" CTR_ID,
	.c = &pod_ctr,
};

/* The audit options of the fixture, grouped by `by` (enum group_by). */
static void fixture_opts(struct audit_opts *o, int by)
{
	memset(o, 0, sizeof(*o));
	o->idle_ms = 60000;
	o->states = STATES_ALL;
	o->families = FAMILY_BOTH;
	o->ephemeral_low = 32768;
	o->fd_pressure = 80;
	o->group_by = by;
}

/* The fixture, its sockets in network namespace `netns` (0: ours). */
static void build_in(struct fixture *f, uint32_t netns)
{
	struct audit_opts o;
	uint32_t server, worker, hostile;

	table_init(&f->t);
	add_socks(&f->t);
	for (size_t i = 0; i < f->t.nsocks; i++)
		f->t.socks[i].netns = netns;
	ck_assert_int_eq(table_index(&f->t), 0);
	server = table_add_proc(&f->t, 1234, "server", 6);
	hostile = table_add_proc(&f->t, 4321, HOSTILE, sizeof(HOSTILE) - 1);
	worker = table_add_proc(&f->t, 999, WORKER, sizeof(WORKER) - 1);
	ck_assert_uint_ne(worker, NO_INDEX);
	/* Descriptors: the server far from its limit, the worker unlimited,
	 * the hostile process at 60 of 64 (fd_pressure at 80%). */
	set_fds(&f->t.procs[server], 10, 4, 1024);
	set_fds(&f->t.procs[worker], 3, 1, FD_LIMIT_NONE);
	set_fds(&f->t.procs[hostile], 60, 3, 64);
	f->t.procs[server].wl = &server_wl;
	f->t.procs[hostile].wl = &hostile_wl;
	/* Owners in scan order: ascending PID, then fd. */
	owner(&f->t, 2, worker, 4);
	owner(&f->t, 0, server, 3);
	owner(&f->t, 1, server, 5);
	owner(&f->t, 2, server, 7);
	owner(&f->t, 3, hostile, 9);
	owner(&f->t, 5, hostile, 11);
	owner(&f->t, 6, hostile, 12);

	fixture_opts(&o, GROUP_BY_PORT);
	ck_assert_int_eq(audit_run(&f->t, &o, &f->a), 0);
	memset(&f->ro, 0, sizeof(f->ro));
	f->ro.source = SOURCE_NETLINK;
	f->ro.has_max = false;
	f->ro.max = 0;
	f->ro.inconsistent = false;
	f->ro.ns = NULL;
}

static void build(struct fixture *f)
{
	build_in(f, 0);
}

static void destroy(struct fixture *f)
{
	audit_free(&f->a);
	table_free(&f->t);
}

typedef int (*render_fn)(FILE *, const struct sock_table *, const struct audit *,
			 const struct render_opts *);

/* Render into memory; returns a NUL-terminated buffer to free. */
static char *render(render_fn fn, const struct fixture *f, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *out = open_memstream(&buf, &n);

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(fn(out, &f->t, &f->a, &f->ro), 0);
	ck_assert_int_eq(fclose(out), 0);
	ck_assert_ptr_nonnull(buf);
	if (len)
		*len = n;
	return buf;
}

static char *slurp(const char *name)
{
	char path[PATH_MAX + 64];
	char *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/expected/%s", data_dir, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* ---- hygiene of any output ----------------------------------------- */

/*
 * Output a terminal cannot be steered by: valid UTF-8, no control byte
 * but the newline ending each line, no DEL, no C1 character.
 */
static void check_inert(const char *out, size_t len, const char *what)
{
	char *copy = malloc(3 * len + 1);
	size_t i, n;

	ck_assert_ptr_nonnull(copy);
	n = text_utf8_sanitize(out, len, copy, 3 * len + 1);
	ck_assert_msg(n == len && memcmp(copy, out, len) == 0,
		      "%s: output is not valid UTF-8", what);
	free(copy);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];

		if ((c < 0x20 && c != '\n') || c == 0x7f)
			ck_abort_msg("%s: control byte %#x at offset %zu", what, c, i);
		if (c == 0xc2 && i + 1 < len && (unsigned char)out[i + 1] <= 0x9f)
			ck_abort_msg("%s: raw C1 character at offset %zu", what, i);
	}
	ck_assert_msg(len > 0 && out[len - 1] == '\n', "%s: no final newline", what);
}

/* Where two texts first differ, for a readable failure. */
static void check_same_text(const char *got, const char *want, const char *name)
{
	size_t i, line = 1, col = 1;

	/* UPDATE_EXPECTED=1: write what the renderers print as the new
	 * expected file (to be reviewed with git diff), and pass. */
	if (getenv("UPDATE_EXPECTED")) {
		char path[PATH_MAX + 64];
		FILE *f;

		snprintf(path, sizeof(path), "%s/expected/%s", data_dir, name);
		f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		fputs(got, f);
		fclose(f);
		return;
	}

	for (i = 0; got[i] && got[i] == want[i]; i++) {
		if (got[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	if (got[i] == want[i])
		return;
	ck_abort_msg("%s differs at line %zu column %zu:\n--- got:\n%s--- want:\n%s",
		     name, line, col, got, want);
}

/* ---- tables -------------------------------------------------------- */

START_TEST(test_table_groups)
{
	struct fixture f;
	char *out, *want;
	size_t len;

	build(&f);
	out = render(render_table_groups, &f, &len);
	check_inert(out, len, "group table");
	want = slurp("render_groups.txt");
	check_same_text(out, want, "render_groups.txt");
	free(want);
	free(out);
	destroy(&f);
}
END_TEST

START_TEST(test_table_list)
{
	struct fixture f;
	char *out, *want;
	size_t len;

	build(&f);
	out = render(render_table_list, &f, &len);
	check_inert(out, len, "list table");
	want = slurp("render_list.txt");
	check_same_text(out, want, "render_list.txt");
	free(want);
	free(out);
	destroy(&f);
}
END_TEST

/* The escaped name is printed whole, in both tables. */
START_TEST(test_table_escapes_hostile_name)
{
	struct fixture f;
	char *g, *l, *p;
	int n = 0;

	build(&f);
	g = render(render_table_groups, &f, NULL);
	l = render(render_table_list, &f, NULL);
	ck_assert_ptr_nonnull(strstr(g, HOSTILE_TABLE "[4321]"));
	for (p = l; (p = strstr(p, HOSTILE_TABLE "[4321]/")) != NULL; p++)
		n++;
	ck_assert_int_eq(n, 3);
	ck_assert_ptr_null(strstr(g, "\x1b"));
	ck_assert_ptr_null(strstr(l, "\x1b"));
	ck_assert_ptr_nonnull(strstr(g, WORKER "[999]"));
	free(g);
	free(l);
	destroy(&f);
}
END_TEST

/* --group-by a workload: the GROUP cell is a name a container's owner
 * chose, escaped like a process name (it was printed raw). */
struct wl_group_row {
	int by;
	const char *cell;
};

static const struct wl_group_row wl_group_rows[] = {
	{ GROUP_BY_CONTAINER, "srv\\x1b[2J\\x0a\"x\"" },
	{ GROUP_BY_POD, "payments/api-5d8b\\x09\\xff" },
	{ GROUP_BY_UNIT, "api.service" },
};

START_TEST(test_table_escapes_workload_group)
{
	const struct wl_group_row *r = &wl_group_rows[_i];
	struct audit_opts o;
	struct fixture f;
	char *g;

	build(&f);
	audit_free(&f.a);
	fixture_opts(&o, r->by);
	ck_assert_int_eq(audit_run(&f.t, &o, &f.a), 0);
	g = render(render_table_groups, &f, NULL);
	ck_assert_msg(strstr(g, r->cell), "no %s in:\n%s", r->cell, g);
	ck_assert_ptr_null(strchr(g, '\x1b'));
	ck_assert_ptr_null(strchr(g, '\t'));
	free(g);
	destroy(&f);
}
END_TEST

/* The longest name /proc can give (the table keeps 64 bytes), all
 * controls: 64 * 4 columns, never cut. */
START_TEST(test_table_long_name_not_truncated)
{
	struct fixture f;
	char comm[64], want[64 * 4 + 1], *out;
	size_t i;
	uint32_t p;

	build(&f);
	for (i = 0; i < sizeof(comm); i += 2) {
		comm[i] = '\xc2';
		comm[i + 1] = '\x9b';
	}
	for (i = 0; i < sizeof(comm); i += 2)
		memcpy(want + 4 * i, "\\xc2\\x9b", 8);
	want[sizeof(want) - 1] = '\0';
	p = table_add_proc(&f.t, 5555, comm, sizeof(comm));
	ck_assert_int_eq(table_add_owner(&f.t, 4, p, 3), 0);
	audit_free(&f.a);
	{
		struct audit_opts o;

		memset(&o, 0, sizeof(o));
		o.idle_ms = 60000;
		o.states = STATES_ALL;
		o.families = FAMILY_BOTH;
		o.ephemeral_low = 32768;
		ck_assert_int_eq(audit_run(&f.t, &o, &f.a), 0);
	}
	out = render(render_table_groups, &f, NULL);
	ck_assert_ptr_nonnull(strstr(out, want));
	free(out);
	out = render(render_table_list, &f, NULL);
	ck_assert_ptr_nonnull(strstr(out, want));
	check_inert(out, strlen(out), "list table");
	free(out);
	destroy(&f);
}
END_TEST

/* ---- JSON ---------------------------------------------------------- */

static cJSON *parse_json(const char *text, size_t len)
{
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);

	ck_assert_msg(j != NULL, "not JSON near: %.40s", end ? end : "?");
	return j;
}

static const cJSON *by_inode(const cJSON *arr, double inode)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, arr) {
		const cJSON *i = cJSON_GetObjectItemCaseSensitive(s, "inode");

		if (cJSON_IsNumber(i) && i->valuedouble == inode)
			return s;
	}
	return NULL;
}

static void check_same_json(const cJSON *got, const cJSON *want, const char *what)
{
	if (!cJSON_Compare(got, want, 1)) {
		char *g = cJSON_Print(got), *w = cJSON_Print(want);

		ck_abort_msg("%s differs:\n--- got:\n%s\n--- want:\n%s", what, g, w);
	}
}

/*
 * The document against render.json: every top-level key, each group in
 * order (most suspicious first), each socket whatever its place in the
 * array (the contract does not order sockets).
 */
START_TEST(test_json_document)
{
	struct fixture f;
	char *out, *wtext;
	size_t len;
	cJSON *got, *want, *it;
	const cJSON *gs, *ws, *s;
	int i, n;

	build(&f);
	out = render(render_json, &f, &len);
	check_inert(out, len, "JSON");
	got = parse_json(out, len);
	wtext = slurp("render.json");
	want = parse_json(wtext, strlen(wtext));

	/* The same top-level keys. */
	n = cJSON_GetArraySize(want);
	ck_assert_int_eq(cJSON_GetArraySize(got), n);
	cJSON_ArrayForEach(it, want) {
		const cJSON *g = cJSON_GetObjectItemCaseSensitive(got, it->string);

		ck_assert_msg(g != NULL, "key \"%s\" missing", it->string);
		if (strcmp(it->string, "sockets") != 0)
			check_same_json(g, it, it->string);
	}
	/* Sockets: each once, matched by inode. */
	gs = cJSON_GetObjectItemCaseSensitive(got, "sockets");
	ws = cJSON_GetObjectItemCaseSensitive(want, "sockets");
	ck_assert(cJSON_IsArray(gs));
	ck_assert_int_eq(cJSON_GetArraySize(gs), cJSON_GetArraySize(ws));
	i = 0;
	cJSON_ArrayForEach(s, ws) {
		const cJSON *inode = cJSON_GetObjectItemCaseSensitive(s, "inode");
		const cJSON *g = by_inode(gs, inode->valuedouble);
		char what[32];

		snprintf(what, sizeof(what), "socket %d (inode %.0f)", i++,
			 inode->valuedouble);
		ck_assert_msg(g != NULL, "%s missing", what);
		check_same_json(g, s, what);
	}
	cJSON_Delete(got);
	cJSON_Delete(want);
	free(wtext);
	free(out);
	destroy(&f);
}
END_TEST

/* The hostile name, read back by a JSON parser. */
START_TEST(test_json_hostile_name)
{
	struct fixture f;
	char *out;
	size_t len;
	cJSON *j;
	const cJSON *g, *c;

	build(&f);
	out = render(render_json, &f, &len);
	j = parse_json(out, len);
	g = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "groups"), 0);
	c = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(g, "processes"), 0),
		"comm");
	ck_assert(cJSON_IsString(c));
	ck_assert_str_eq(c->valuestring, HOSTILE_JSON);
	/* And in the text: no raw control, the stray byte as U+FFFD. */
	ck_assert_ptr_null(memchr(out, 0x1b, len));
	ck_assert_ptr_null(memchr(out, '\t', len));
	ck_assert_ptr_null(memchr(out, 0xff, len));
	cJSON_Delete(j);
	free(out);
	destroy(&f);
}
END_TEST

/* "assertion" only with --max; ok while selected <= max. */
struct max_row {
	bool has_max;
	uint64_t max;
	int ok; /* -1: no assertion key */
};

static const struct max_row max_rows[] = {
	{ false, 0, -1 },
	{ true, 0, 0 },
	{ true, 6, 0 },
	{ true, 7, 1 },
	{ true, 8, 1 },
	{ true, 18446744073709551615u, 1 },
};

START_TEST(test_json_assertion_rows)
{
	const struct max_row *r = &max_rows[_i];
	struct fixture f;
	char *out;
	size_t len;
	cJSON *j;
	const cJSON *as, *v;

	build(&f);
	f.ro.has_max = r->has_max;
	f.ro.max = r->max;
	out = render(render_json, &f, &len);
	j = parse_json(out, len);
	as = cJSON_GetObjectItemCaseSensitive(j, "assertion");
	if (r->ok < 0) {
		ck_assert_ptr_null(as);
	} else {
		ck_assert(cJSON_IsObject(as));
		ck_assert_int_eq(cJSON_GetArraySize(as), 3);
		v = cJSON_GetObjectItemCaseSensitive(as, "max");
		ck_assert(cJSON_IsNumber(v));
		ck_assert(v->valuedouble == (double)r->max);
		v = cJSON_GetObjectItemCaseSensitive(as, "selected");
		ck_assert(cJSON_IsNumber(v) && v->valuedouble == 7);
		v = cJSON_GetObjectItemCaseSensitive(as, "ok");
		ck_assert(cJSON_IsBool(v));
		ck_assert_int_eq(cJSON_IsTrue(v), r->ok);
	}
	cJSON_Delete(j);
	free(out);
	destroy(&f);
}
END_TEST

/* source "proc": the times are null (no tcp_info), the rest the same. */
START_TEST(test_json_source_proc)
{
	struct fixture f;
	char *out;
	size_t len, i;
	cJSON *j;
	const cJSON *s;

	build(&f);
	f.ro.source = SOURCE_PROC;
	for (i = 0; i < f.t.nsocks; i++)
		f.t.socks[i].has_times = 0;
	out = render(render_json, &f, &len);
	j = parse_json(out, len);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "source")->valuestring,
			 "proc");
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(j, "sockets")) {
		ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(s, "last_recv_ms")));
		ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(s, "last_send_ms")));
		ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(s, "idle_ms")));
	}
	cJSON_Delete(j);
	free(out);
	destroy(&f);
}
END_TEST

/*
 * A uid or queues the source did not give (/proc/net/unix) are null in
 * JSON and "-" in the table, never 0.  The renderers do not look at the
 * kind: socket 1 (ESTAB, uid 1000, queues 0) stands for it.
 */
static const struct unknown_row {
	unsigned unknown;
	bool uid_null, queues_null;
	const char *cells; /* its row from RECV-Q to LOCAL */
} unknown_rows[] = {
	{ 0, false, false, "0       0  127.0.0.1:8080" },
	{ SOCK_UNKNOWN_UID, true, false, "0       0  127.0.0.1:8080" },
	{ SOCK_UNKNOWN_QUEUES, false, true, "-       -  127.0.0.1:8080" },
	{ SOCK_UNKNOWN_UID | SOCK_UNKNOWN_QUEUES, true, true, "-       -  127.0.0.1:8080" },
};

START_TEST(test_unknown_rows)
{
	const struct unknown_row *row = &unknown_rows[_i];
	const cJSON *found;
	struct fixture f;
	char *out;
	size_t len;
	cJSON *j;

	build(&f);
	f.t.socks[1].unknown = (uint8_t)row->unknown;
	out = render(render_json, &f, &len);
	j = parse_json(out, len);
	found = by_inode(cJSON_GetObjectItemCaseSensitive(j, "sockets"), 48211);
	ck_assert_ptr_nonnull(found);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(found, "uid")) ==
		  row->uid_null);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(found, "recv_q")) ==
		  row->queues_null);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(found, "send_q")) ==
		  row->queues_null);
	if (!row->uid_null)
		ck_assert(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(found, "uid")) ==
			  1000);
	cJSON_Delete(j);
	free(out);
	out = render(render_table_list, &f, &len);
	ck_assert_msg(strstr(out, row->cells), "no \"%s\" in\n%s", row->cells, out);
	free(out);
	destroy(&f);
}
END_TEST

/* A dump the kernel marked interrupted, even after retries: both
 * outputs say so (JSON "inconsistent", the table's totals line). */
START_TEST(test_inconsistent_marked)
{
	struct fixture f;
	char *out;
	size_t len;
	cJSON *j;

	build(&f);
	f.ro.inconsistent = true;
	out = render(render_json, &f, &len);
	j = parse_json(out, len);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "inconsistent")));
	cJSON_Delete(j);
	free(out);
	out = render(render_table_groups, &f, &len);
	ck_assert_ptr_nonnull(strstr(out, "INCONSISTENT"));
	free(out);
	f.ro.inconsistent = false;
	out = render(render_table_list, &f, &len);
	ck_assert_ptr_null(strstr(out, "INCONSISTENT"));
	free(out);
	destroy(&f);
}
END_TEST

/* Nothing selected: still one valid document with empty arrays. */
START_TEST(test_json_empty)
{
	struct fixture f;
	struct audit_opts o;
	char *out;
	size_t len;
	cJSON *j;

	build(&f);
	audit_free(&f.a);
	memset(&o, 0, sizeof(o));
	o.idle_ms = 1000;
	o.states = STATE_BIT(ST_SYN_SENT);
	o.families = FAMILY_BOTH;
	o.ephemeral_low = 32768;
	ck_assert_int_eq(audit_run(&f.t, &o, &f.a), 0);
	out = render(render_json, &f, &len);
	j = parse_json(out, len);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "groups")),
			 0);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "sockets")),
			 0);
	ck_assert(cJSON_GetObjectItemCaseSensitive(j, "idle_threshold_ms")->valuedouble ==
		  1000);
	ck_assert(cJSON_GetObjectItemCaseSensitive(
			  cJSON_GetObjectItemCaseSensitive(j, "totals"), "sockets")
			  ->valuedouble == 0);
	cJSON_Delete(j);
	free(out);
	out = render(render_table_groups, &f, &len);
	check_inert(out, len, "empty group table");
	free(out);
	destroy(&f);
}
END_TEST

/* ---- Prometheus ---------------------------------------------------- */

static void build_prom(struct fixture *f, uint32_t max_peers, uint32_t netns)
{
	build_in(f, netns);
	f->ro.max_peers = max_peers;
	f->ro.max_processes = 100;
	f->ro.seconds = 0.25;
}

START_TEST(test_prom_document)
{
	struct fixture f;
	struct prom_doc d;
	char *out, *want;
	size_t len;

	build_prom(&f, 50, 0);
	out = render(render_prom, &f, &len);
	check_inert(out, len, "exposition");
	prom_parse_or_fail(out, &d);
	prom_free(&d);
	want = slurp("render.prom");
	check_same_text(out, want, "render.prom");
	free(want);
	free(out);
	destroy(&f);
}
END_TEST

/*
 * Client peers past max_peers are summed into peer="other", the most
 * suspicious kept: the stalled 10.0.0.5:443 before the TIME-WAIT one.
 */
static const struct {
	uint32_t max_peers;
	const char *want[4]; /* lines that must be there */
	const char *absent;  /* a line that must not */
} fold_rows[] = {
	{ 1,
	  { "sockaudit_sockets{side=\"client\",peer=\"10.0.0.5:443\",state=\"established\"} 1\n",
	    "sockaudit_sockets{side=\"client\",peer=\"other\",state=\"time_wait\"} 1\n",
	    "sockaudit_flagged_sockets{side=\"client\",peer=\"other\",flag=\"stalled\"} 0\n",
	    "sockaudit_folded_peers 1\n" },
	  "peer=\"[::1]:8080\"" },
	{ 0,
	  { "sockaudit_sockets{side=\"client\",peer=\"other\",state=\"established\"} 1\n",
	    "sockaudit_sockets{side=\"client\",peer=\"other\",state=\"time_wait\"} 1\n",
	    "sockaudit_flagged_sockets{side=\"client\",peer=\"other\",flag=\"stalled\"} 1\n",
	    "sockaudit_folded_peers 2\n" },
	  "peer=\"10.0.0.5:443\"" },
	{ 2,
	  { "sockaudit_sockets{side=\"client\",peer=\"10.0.0.5:443\",state=\"established\"} 1\n",
	    "sockaudit_sockets{side=\"client\",peer=\"[::1]:8080\",state=\"time_wait\"} 1\n",
	    "sockaudit_sockets{side=\"server\",port=\"8080\",state=\"close_wait\"} 1\n",
	    "sockaudit_folded_peers 0\n" },
	  "peer=\"other\"," },
};

START_TEST(test_prom_folding_rows)
{
	struct fixture f;
	struct prom_doc d;
	char *out;
	size_t len;

	build_prom(&f, fold_rows[_i].max_peers, 0);
	out = render(render_prom, &f, &len);
	prom_parse_or_fail(out, &d);
	for (int k = 0; k < 4; k++)
		ck_assert_msg(strstr(out, fold_rows[_i].want[k]) != NULL,
			      "max_peers %u: no line %s in:\n%s", fold_rows[_i].max_peers,
			      fold_rows[_i].want[k], out);
	ck_assert_msg(strstr(out, fold_rows[_i].absent) == NULL,
		      "max_peers %u: %s in:\n%s", fold_rows[_i].max_peers,
		      fold_rows[_i].absent, out);
	/* Folding moves sockets, it does not lose any. */
	ck_assert(prom_sum(&d, "sockaudit_sockets", NULL) == f.a.totals.sockets);
	prom_free(&d);
	free(out);
	destroy(&f);
}
END_TEST

/* Sockets of another namespace: every group series says which. */
START_TEST(test_prom_netns_label)
{
	struct fixture f;
	struct prom_doc d;
	char *out;
	size_t len;

	build_prom(&f, 1, 4026532001u);
	out = render(render_prom, &f, &len);
	prom_parse_or_fail(out, &d);
	ck_assert_int_eq(prom_count(&d, "sockaudit_sockets",
				    (const char *const[]){ "netns", "4026532001", NULL }),
			 prom_count(&d, "sockaudit_sockets", NULL));
	ck_assert_ptr_nonnull(strstr(out, "sockaudit_sockets{side=\"client\",peer=\"other\","
				     "netns=\"4026532001\",state=\"time_wait\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(out, "sockaudit_flagged_sockets{side=\"process\","
				     "pid=\"4321\",netns=\"4026532001\",flag=\"dead\"} 2\n"));
	prom_free(&d);
	free(out);
	destroy(&f);
}
END_TEST

/* Nothing selected: every family still declared, no series. */
START_TEST(test_prom_empty)
{
	struct fixture f;
	struct audit_opts o;
	struct prom_doc d;
	char *out;
	size_t len;

	build_prom(&f, 50, 0);
	audit_free(&f.a);
	memset(&o, 0, sizeof(o));
	o.idle_ms = 60000;
	o.states = STATE_BIT(ST_SYN_SENT);
	o.families = FAMILY_BOTH;
	o.ephemeral_low = 32768;
	ck_assert_int_eq(audit_run(&f.t, &o, &f.a), 0);
	out = render(render_prom, &f, &len);
	prom_parse_or_fail(out, &d);
	ck_assert_int_eq(d.nfamilies, 13);
	ck_assert_int_eq(prom_count(&d, "sockaudit_sockets", NULL), 0);
	ck_assert_int_eq(prom_count(&d, "sockaudit_process_open_fds", NULL), 0);
	ck_assert(prom_value(&d, "sockaudit_folded_peers", NULL, -1) == 0);
	prom_free(&d);
	free(out);
	destroy(&f);
}
END_TEST

/* A write that fails is reported, not ignored. */
START_TEST(test_write_error)
{
	static const render_fn fns[] = { render_json, render_table_groups,
					 render_table_list, render_prom };
	struct fixture f;
	size_t i;

	build(&f);
	for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		FILE *out = fopen("/dev/full", "w");
		int ret;

		ck_assert_ptr_nonnull(out);
		ret = fns[i](out, &f.t, &f.a, &f.ro);
		ck_assert_msg(ret < 0, "renderer %zu returned %d writing to /dev/full",
			      i, ret);
		fclose(out);
	}
	destroy(&f);
}
END_TEST

/* ---- network namespaces -------------------------------------------- */

#define NS_SELF 4026531840u
#define NS_BLUE 4026532001u /* named, with a control byte in its name */
#define NS_GREY 4026532002u /* no name */
#define BLUE_NAME "blue\x1b"
#define BLUE_TABLE "blue\\x1b"

/*
 * The fixture's sockets, but 3 and 4 in namespace BLUE, plus a listener
 * and a CLOSE-WAIT on the same port 8080 in GREY: two *:8080 groups.
 */
struct ns_fixture {
	struct fixture f;
	struct netns_target v[3];
	struct netns_set set;
};

static void build_netns(struct ns_fixture *nf, bool shown)
{
	static const struct sk grey[] = {
		{ AF_INET, ST_LISTEN, ORIGIN_KERNEL, "0.0.0.0", 8080, "0.0.0.0", 0,
		  70001, 0, 0, 128, 1, 0, 0 },
		{ AF_INET, ST_CLOSE_WAIT, ORIGIN_KERNEL, "127.0.0.1", 8080,
		  "127.0.0.1", 40002, 70002, 0, 1, 0, 1, 2000, 2000 },
	};
	struct audit_opts o;
	size_t i;

	build(&nf->f);
	audit_free(&nf->f.a);
	nf->f.t.socks[3].netns = NS_BLUE;
	nf->f.t.socks[4].netns = NS_BLUE;
	nf->f.t.cur_netns = NS_GREY;
	for (i = 0; i < 2; i++) {
		struct sock_rec *r = table_add_sock(&nf->f.t);

		ck_assert_ptr_nonnull(r);
		r->family = AF_INET;
		r->state = (uint8_t)grey[i].state;
		r->has_local = 1;
		ck_assert_int_eq(inet_pton(AF_INET, grey[i].laddr, r->laddr), 1);
		ck_assert_int_eq(inet_pton(AF_INET, grey[i].raddr, r->raddr), 1);
		r->lport = grey[i].lport;
		r->rport = grey[i].rport;
		r->inode = grey[i].inode;
		r->recv_q = grey[i].recv_q;
		r->send_q = grey[i].send_q;
		r->has_times = (uint8_t)grey[i].has_times;
		r->last_recv_ms = grey[i].last_recv;
		r->last_send_ms = grey[i].last_send;
		ck_assert_uint_eq(r->netns, NS_GREY);
		if (r->state == ST_LISTEN)
			ck_assert_int_eq(table_mark_listener(&nf->f.t, r->lport), 0);
	}
	nf->f.t.cur_netns = 0;
	ck_assert_int_eq(table_index(&nf->f.t), 0);
	memset(&o, 0, sizeof(o));
	o.idle_ms = 60000;
	o.states = STATES_ALL;
	o.families = FAMILY_BOTH;
	o.ephemeral_low = 32768;
	ck_assert_int_eq(audit_run(&nf->f.t, &o, &nf->f.a), 0);

	memset(nf->v, 0, sizeof(nf->v));
	nf->v[0].ino = NS_SELF;
	nf->v[1].ino = nf->v[1].tag = NS_BLUE;
	nf->v[1].name = (char *)BLUE_NAME;
	nf->v[2].ino = nf->v[2].tag = NS_GREY;
	for (i = 0; i < 3; i++) {
		nf->v[i].fd = -1;
		nf->v[i].audited = true;
	}
	memset(&nf->set, 0, sizeof(nf->set));
	nf->set.self = NS_SELF;
	nf->set.self_fd = -1;
	nf->set.v = nf->v;
	nf->set.n = 3;
	nf->set.shown = shown;
	nf->f.ro.ns = &nf->set;
}

/* Two groups for port 8080, one per namespace, and a NETNS column in
 * both tables, pinned byte for byte. */
START_TEST(test_netns_tables)
{
	static const struct {
		render_fn fn;
		const char *file;
	} rows[] = {
		{ render_table_groups, "render_netns_groups.txt" },
		{ render_table_list, "render_netns_list.txt" },
	};
	struct ns_fixture nf;
	char *out, *want;
	size_t len;

	build_netns(&nf, true);
	out = render(rows[_i].fn, &nf.f, &len);
	check_inert(out, len, rows[_i].file);
	want = slurp(rows[_i].file);
	check_same_text(out, want, rows[_i].file);
	free(want);
	free(out);
	destroy(&nf.f);
}
END_TEST

/* Not shown (the default: one namespace, ours): the same bytes as
 * without namespaces, though the sockets carry them. */
START_TEST(test_netns_not_shown)
{
	struct ns_fixture nf;
	char *out;

	build_netns(&nf, false);
	out = render(render_table_groups, &nf.f, NULL);
	ck_assert_ptr_null(strstr(out, "NETNS"));
	ck_assert_ptr_null(strstr(out, "namespace"));
	free(out);
	out = render(render_json, &nf.f, NULL);
	ck_assert_ptr_null(strstr(out, "netns"));
	ck_assert_ptr_null(strstr(out, "namespaces"));
	free(out);
	destroy(&nf.f);
}
END_TEST

/* One namespace read: no column; the totals line names it. */
START_TEST(test_netns_one_namespace)
{
	struct ns_fixture nf;
	char *out;

	build_netns(&nf, true);
	nf.v[0].audited = false;
	nf.v[2].audited = false;
	out = render(render_table_list, &nf.f, NULL);
	ck_assert_ptr_null(strstr(out, "NETNS"));
	ck_assert_ptr_nonnull(strstr(out, ", network namespace " BLUE_TABLE ")\n"));
	free(out);
	nf.v[1].name = NULL;
	out = render(render_table_groups, &nf.f, NULL);
	ck_assert_ptr_nonnull(strstr(out, ", network namespace 4026532001)\n"));
	free(out);
	destroy(&nf.f);
}
END_TEST

/* JSON: netns and netns_name on every socket and group (ours printed
 * as its inode), the name decoded back, and the namespaces array. */
START_TEST(test_netns_json)
{
	struct ns_fixture nf;
	const cJSON *it, *ns;
	char *out;
	size_t len;
	cJSON *j;
	int grey8080 = 0, n = 0;

	build_netns(&nf, true);
	nf.v[2].audited = false;
	nf.v[2].err = -EPERM;
	out = render(render_json, &nf.f, &len);
	check_inert(out, len, "JSON with namespaces");
	j = parse_json(out, len);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "sockets")) {
		double ino = cJSON_GetObjectItemCaseSensitive(it, "inode")->valuedouble;
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "netns_name");
		double want = ino == 50001 || ino == 0 ? NS_BLUE :
			      ino >= 70001 ? NS_GREY : NS_SELF;

		ck_assert_msg(cJSON_GetObjectItemCaseSensitive(it, "netns")->valuedouble ==
			      want, "socket %.0f: netns", ino);
		if (want == NS_BLUE)
			ck_assert_str_eq(cJSON_GetStringValue(name), BLUE_NAME);
		else
			ck_assert(cJSON_IsNull(name));
		n++;
	}
	ck_assert_int_eq(n, 9);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "groups")) {
		const cJSON *port = cJSON_GetObjectItemCaseSensitive(it, "local_port");

		ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(it, "netns"));
		ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(it, "netns_name"));
		if (port && port->valuedouble == 8080 &&
		    cJSON_GetObjectItemCaseSensitive(it, "netns")->valuedouble == NS_GREY)
			grey8080++;
	}
	ck_assert_int_eq(grey8080, 1);
	ns = cJSON_GetObjectItemCaseSensitive(j, "namespaces");
	ck_assert_int_eq(cJSON_GetArraySize(ns), 3);
	it = cJSON_GetArrayItem(ns, 2);
	ck_assert(cJSON_GetObjectItemCaseSensitive(it, "netns")->valuedouble == NS_GREY);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(it, "audited")));
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "error")),
			 strerror(EPERM));
	it = cJSON_GetArrayItem(ns, 0);
	ck_assert(cJSON_GetObjectItemCaseSensitive(it, "netns")->valuedouble == NS_SELF);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "audited")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(it, "error")));
	cJSON_Delete(j);
	free(out);
	destroy(&nf.f);
}
END_TEST

#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *render_suite(void)
{
	Suite *s = suite_create("render");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, test_table_groups);
	tcase_add_test(tc, test_table_list);
	tcase_add_test(tc, test_table_escapes_hostile_name);
	tcase_add_test(tc, test_table_long_name_not_truncated);
	tcase_add_loop_test(tc, test_table_escapes_workload_group, 0,
			    NROWS(wl_group_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, test_json_document);
	tcase_add_test(tc, test_json_hostile_name);
	tcase_add_loop_test(tc, test_json_assertion_rows, 0, NROWS(max_rows));
	tcase_add_test(tc, test_json_source_proc);
	tcase_add_loop_test(tc, test_unknown_rows, 0, NROWS(unknown_rows));
	tcase_add_test(tc, test_inconsistent_marked);
	tcase_add_test(tc, test_json_empty);
	tcase_add_test(tc, test_write_error);
	suite_add_tcase(s, tc);

	tc = tcase_create("netns");
	tcase_add_loop_test(tc, test_netns_tables, 0, 2);
	tcase_add_test(tc, test_netns_not_shown);
	tcase_add_test(tc, test_netns_one_namespace);
	tcase_add_test(tc, test_netns_json);
	suite_add_tcase(s, tc);

	tc = tcase_create("prometheus");
	tcase_add_test(tc, test_prom_document);
	tcase_add_loop_test(tc, test_prom_folding_rows, 0, NROWS(fold_rows));
	tcase_add_test(tc, test_prom_netns_label);
	tcase_add_test(tc, test_prom_empty);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	snprintf(data_dir, sizeof(data_dir), "%s", test_data_dir());
	return run_suite(render_suite());
}
