/*
 * Unit tests for cgroup.h and workload.h:
 *
 *   layouts     recorded /proc/PID/cgroup files of the three layouts (v2
 *               only, hybrid -- this machine's --, v1 only): which path
 *               systemd reads
 *   units       paths to `ps -o unit,uunit` values, by systemd's rules
 *   containers  every runtime and driver form, nested and odd paths
 *   resolve     workload_resolve against tests/data/workload (a proc
 *               tree and runtime state dirs written by hand) and against
 *               hostile state made at run time (100 MiB file, FIFO,
 *               directory, symlink loop)
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "table.h"
#include "workload.h"
#include "lib/runsuite.h"

#define ID(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define A ID("a1")
#define B ID("b2")
#define C ID("c3")
#define D ID("d4")
#define E ID("e5")
#define F ID("f6")
#define G ID("07")
#define H ID("18")
#define UID1 "1b2c3d4e-0000-1111-2222-333344445555"
#define UID1_ "1b2c3d4e_0000_1111_2222_333344445555"
#define UID2 "9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff"

static char data_dir[PATH_MAX];

static struct span S(const char *s)
{
	struct span sp = { s, strlen(s) };

	return sp;
}

/* ---- layouts ------------------------------------------------------- */

static const char hybrid_file[] =
	"9:name=systemd:/user.slice/user-0.slice/session-1.scope\n"
	"8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n"
	"4:memory:/process_api/806ff76d41d45b14efa9889725c9e10b\n"
	"3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n"
	"0::/wltest.slice/foo.service\n";
static const char legacy_file[] =
	"12:pids:/system.slice/sshd.service\n"
	"11:cpu,cpuacct:/system.slice/sshd.service\n"
	"1:name=systemd:/system.slice/sshd.service\n"
	"0::/\n";
static const char unified_file[] = "0::/system.slice/nginx.service\n";

static const struct layout_row {
	const char *file;
	enum cgroup_layout layout;
	const char *path; /* NULL: -ENOENT */
	size_t len;	  /* of file; 0: strlen */
} layout_rows[] = {
	{ unified_file, CG_LAYOUT_UNIFIED, "/system.slice/nginx.service", 0 },
	{ unified_file, CG_LAYOUT_UNKNOWN, "/system.slice/nginx.service", 0 },
	{ unified_file, CG_LAYOUT_LEGACY, NULL, 0 },
	{ hybrid_file, CG_LAYOUT_HYBRID, "/wltest.slice/foo.service", 0 },
	{ hybrid_file, CG_LAYOUT_LEGACY, "/user.slice/user-0.slice/session-1.scope", 0 },
	{ hybrid_file, CG_LAYOUT_UNKNOWN, "/wltest.slice/foo.service", 0 },
	{ legacy_file, CG_LAYOUT_LEGACY, "/system.slice/sshd.service", 0 },
	/* Unknown layout: "0::/" beside a name=systemd line is v1's. */
	{ legacy_file, CG_LAYOUT_UNKNOWN, "/system.slice/sshd.service", 0 },
	{ legacy_file, CG_LAYOUT_HYBRID, "/", 0 },
	/* name=systemd among other names in a comma list */
	{ "3:cpu,name=systemd:/a.service\n", CG_LAYOUT_LEGACY, "/a.service", 0 },
	/* no trailing newline, a colon inside the path */
	{ "0::/odd:name.service", CG_LAYOUT_UNIFIED, "/odd:name.service", 0 },
	/* a NUL ends the path */
	{ "0::/x.service\0junk\n", CG_LAYOUT_UNIFIED, "/x.service",
	  sizeof("0::/x.service\0junk\n") - 1 },
	/* "name=systemdx" is another hierarchy */
	{ "1:name=systemdx:/a.service\n", CG_LAYOUT_LEGACY, NULL, 0 },
	{ "", CG_LAYOUT_UNKNOWN, NULL, 0 },
	{ "garbage\n::\n", CG_LAYOUT_UNKNOWN, NULL, 0 },
};

START_TEST(test_layouts)
{
	const struct layout_row *r = &layout_rows[_i];
	size_t len = r->len ? r->len : strlen(r->file);
	struct cgroup_file cf;
	struct span p;
	int rc;

	rc = cgroup_parse(r->file, len, &cf);
	if (!rc)
		rc = cgroup_path(&cf, r->layout, &p);
	if (!r->path) {
		ck_assert_msg(rc < 0, "row %d: a path found", _i);
		return;
	}
	ck_assert_msg(rc == 0, "row %d: %d", _i, rc);
	ck_assert_msg(p.n == strlen(r->path) && !memcmp(p.p, r->path, p.n),
		      "row %d: \"%.*s\"", _i, (int)p.n, p.p);
}
END_TEST

/* ---- units ----------------------------------------------------------- */

static const struct unit_row {
	const char *path, *root;
	const char *unit, *uunit; /* NULL: ps prints "-" */
} unit_rows[] = {
	{ "/system.slice/nginx.service", "", "nginx.service", NULL },
	{ "/system.slice/nginx.service/worker", "", "nginx.service", NULL },
	{ "/system.slice/getty@tty1.service", "", "getty@tty1.service", NULL },
	{ "/system.slice/getty@.service", "", NULL, NULL }, /* a template */
	{ "/a.slice/b.slice/_sub.service", "", "sub.service", NULL },
	{ "/", "", NULL, NULL },
	{ "", "", NULL, NULL },
	{ "/system.slice", "", NULL, NULL },
	{ "/foo.bar", "", NULL, NULL },	       /* no unit type */
	{ "/@x.service", "", NULL, NULL },     /* instance with no prefix */
	{ "/a b.service", "", NULL, NULL },    /* a space */
	{ "/ab", "", NULL, NULL },
	{ "/init.scope", "", "init.scope", NULL },
	{ "/user.slice/user-1000.slice/session-3.scope", "", "session-3.scope", NULL },
	{ "/user.slice/user-1000.slice/session-c1.scope/x.service", "",
	  "session-c1.scope", "x.service" },
	{ "/user.slice/user-1000.slice/session-a_b.scope/x.service", "",
	  "session-a_b.scope", NULL },
	{ "/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service", "",
	  "user@1000.service", "foo.service" },
	{ "/user.slice/user-1000.slice/user@1000.service/init.scope", "",
	  "user@1000.service", "init.scope" },
	{ "/user.slice/user-1000.slice/user@1000.service/app.slice", "",
	  "user@1000.service", NULL },
	{ "/user.slice/user-0.slice/user@0.service/a.service", "", "user@0.service",
	  "a.service" },
	{ "/user.slice/user@65535.service/a.service", "", "user@65535.service", NULL },
	{ "/user.slice/user@01.service/a.service", "", "user@01.service", NULL },
	{ "/user.slice/user@x.service/a.service", "", "user@x.service", NULL },
	{ "/docker/" A, "", NULL, NULL },
	{ "/system.slice/docker-" A ".scope", "", "docker-" A ".scope", NULL },
	{ "/machine.slice/libpod-" E ".scope/container", "", "libpod-" E ".scope", NULL },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID1_
	  ".slice/cri-containerd-" A ".scope", "", "cri-containerd-" A ".scope", NULL },
	/* Shifted by PID 1's root, as inside a container. */
	{ "/docker/abc/system.slice/foo.service", "/docker/abc", "foo.service", NULL },
	{ "/docker/abc", "/docker/abc", NULL, NULL },
	{ "/docker/abcd/foo.service", "/docker/abc", NULL, NULL },
	{ "/lxc/x/user.slice/user@5.service/y.service", "/lxc/x", "user@5.service",
	  "y.service" },
};

START_TEST(test_units)
{
	const struct unit_row *r = &unit_rows[_i];
	char out[256];
	int rc;

	rc = cgroup_unit(S(r->path), S(r->root), out, sizeof(out));
	if (r->unit)
		ck_assert_msg(rc == 0 && !strcmp(out, r->unit), "row %d unit: %d %s", _i,
			      rc, rc ? "" : out);
	else
		ck_assert_msg(rc == -ENXIO, "row %d: unit %s", _i, out);
	rc = cgroup_user_unit(S(r->path), S(r->root), out, sizeof(out));
	if (r->uunit)
		ck_assert_msg(rc == 0 && !strcmp(out, r->uunit), "row %d uunit: %d %s",
			      _i, rc, rc ? "" : out);
	else
		ck_assert_msg(rc == -ENXIO, "row %d: user unit %s", _i, out);
}
END_TEST

START_TEST(test_unit_too_long)
{
	char path[300], out[256];

	path[0] = '/';
	memset(path + 1, 'a', 260);
	strcpy(path + 250, ".service");
	ck_assert_int_eq(cgroup_unit(S(path), S(""), out, sizeof(out)), -ENXIO);
	ck_assert_str_eq(cgroup_root_of(S("/init.scope")).n == 0 ? "ok" : "no", "ok");
	ck_assert_uint_eq(cgroup_root_of(S("/docker/x/init.scope")).n, 9);
	ck_assert_uint_eq(cgroup_root_of(S("/a/system.slice")).n, 2);
	ck_assert_uint_eq(cgroup_root_of(S("/a/system")).n, 2);
	ck_assert_uint_eq(cgroup_root_of(S("/")).n, 1);
}
END_TEST

/* ---- containers ------------------------------------------------------ */

static const struct ctr_row {
	const char *path;
	enum container_runtime rt;
	const char *id, *name, *pod_uid; /* "" when none */
} ctr_rows[] = {
	{ "/system.slice/docker-" A ".scope", RT_DOCKER, A, "", "" },
	{ "/docker/" A, RT_DOCKER, A, "", "" },
	{ "/docker/" A "/docker/" B, RT_DOCKER, B, "", "" }, /* docker in docker */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID1_
	  ".slice/cri-containerd-" A ".scope", RT_CONTAINERD, A, "", UID1 },
	{ "/kubepods.slice/kubepods-pod" UID1_ ".slice/cri-containerd-" A ".scope",
	  RT_CONTAINERD, A, "", UID1 },
	{ "/kubepods/burstable/pod" UID1 "/" A, RT_UNKNOWN, A, "", UID1 },
	{ "/kubepods/pod" UID1 "/" A, RT_UNKNOWN, A, "", UID1 },
	{ "/kubepods/besteffort/pod" UID1, RT_NONE, "", "", UID1 },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID1_
	  ".slice/crio-" C ".scope", RT_CRIO, C, "", UID1 },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID1_
	  ".slice/crio-conmon-" C ".scope", RT_NONE, "", "", UID1 },
	/* kubelet nested under a runtime's own cgroup */
	{ "/system.slice/containerd.service/kubepods/burstable/pod" UID1 "/" A,
	  RT_UNKNOWN, A, "", UID1 },
	{ "/machine.slice/libpod-" E ".scope/container", RT_PODMAN, E, "", "" },
	{ "/libpod_parent/libpod-" E, RT_PODMAN, E, "", "" },
	{ "/machine.slice/libpod-conmon-" E ".scope", RT_NONE, "", "", "" },
	{ "/lxc.payload.web1", RT_LXC, "web1", "web1", "" },
	{ "/lxc.payload.web1/system.slice/nginx.service", RT_LXC, "web1", "web1", "" },
	{ "/lxc/web2", RT_LXC, "web2", "web2", "" },
	{ "/lxc.monitor.web1", RT_NONE, "", "", "" },
	{ "/machine.slice/machine-foo\\x2dbar.scope", RT_NSPAWN, "foo-bar", "foo-bar", "" },
	{ "/machine.slice/systemd-nspawn@box.service/payload", RT_NSPAWN, "box", "box", "" },
	/* a systemd-driver container inside a cgroupfs one: the innermost */
	{ "/docker/" A "/system.slice/docker-" B ".scope", RT_DOCKER, B, "", "" },
	/* a bare id below a named form does not replace it */
	{ "/system.slice/docker-" A ".scope/" B, RT_DOCKER, A, "", "" },
	{ "/system.slice/nginx.service", RT_NONE, "", "", "" },
	{ "/", RT_NONE, "", "", "" },
	{ "", RT_NONE, "", "", "" },
	{ "/docker/" "A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1",
	  RT_NONE, "", "", "" }, /* upper case is no id */
	{ "/docker-" "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1" ".scope",
	  RT_NONE, "", "", "" }, /* 62 digits */
	{ "/podcast/pod" UID1 "/" A, RT_UNKNOWN, A, "", "" }, /* no kubepods */
};

START_TEST(test_containers)
{
	const struct ctr_row *r = &ctr_rows[_i];
	struct cgroup_container cc;
	int found = cgroup_container(S(r->path), &cc);

	ck_assert_msg(found == (r->rt != RT_NONE) && cc.rt == r->rt,
		      "row %d: found %d rt %d", _i, found, cc.rt);
	ck_assert_msg(!strcmp(cc.id, r->id), "row %d: id %s", _i, cc.id);
	ck_assert_msg(!strcmp(cc.name, r->name), "row %d: name %s", _i, cc.name);
	ck_assert_msg(!strcmp(cc.pod_uid, r->pod_uid), "row %d: pod %s", _i, cc.pod_uid);
}
END_TEST

/* ---- resolution against fixture trees ------------------------------ */

struct resolved {
	struct sock_table t;
	struct workload_set ws;
	struct workload_dirs d;
	char root[PATH_MAX];
};

static void dirs_under(struct workload_dirs *d, const char *root, char buf[7][PATH_MAX])
{
	snprintf(buf[0], PATH_MAX, "%s/run/containerd/io.containerd.runtime.v2.task", root);
	snprintf(buf[1], PATH_MAX, "%s/run/containerd/runc", root);
	snprintf(buf[2], PATH_MAX, "%s/run/runc", root);
	snprintf(buf[3], PATH_MAX, "%s/lib/containers/storage", root);
	snprintf(buf[4], PATH_MAX, "%s/run/containers/storage", root);
	snprintf(buf[5], PATH_MAX, "%s/lib/docker", root);
	snprintf(buf[6], PATH_MAX, "%s/sys/fs/cgroup", root);
	d->containerd_state = buf[0];
	d->containerd_runc = buf[1];
	d->runc_state = buf[2];
	d->storage_root = buf[3];
	d->storage_runroot = buf[4];
	d->docker_root = buf[5];
	d->cgroup_root = buf[6];
}

static char dir_bufs[7][PATH_MAX];

/* Resolve pids[0..n) of the fixture tree under `root`. */
static void resolve(struct resolved *r, const char *root, const pid_t *pids, size_t n)
{
	struct workload_opts o = { .layout = CG_LAYOUT_UNIFIED };
	uint32_t idx[32];
	size_t i;

	ck_assert_uint_le(n, 32);
	memset(r, 0, sizeof(*r));
	table_init(&r->t);
	snprintf(r->root, sizeof(r->root), "%s/proc", root);
	dirs_under(&r->d, root, dir_bufs);
	o.proc_root = r->root;
	o.dirs = &r->d;
	for (i = 0; i < n; i++) {
		idx[i] = table_add_proc(&r->t, pids[i], "x", 1);
		ck_assert_uint_ne(idx[i], NO_INDEX);
	}
	ck_assert_int_eq(workload_resolve(&r->ws, &r->t, idx, n, &o), 0);
}

static void done(struct resolved *r)
{
	workload_free(&r->ws);
	table_free(&r->t);
}

static void str_is(const char *got, const char *want, const char *what, int row)
{
	if (!want)
		ck_assert_msg(got == NULL, "row %d %s: %s, want null", row, what, got);
	else
		ck_assert_msg(got && !strcmp(got, want), "row %d %s: %s, want %s", row,
			      what, got ? got : "null", want);
}

static const struct wl_row {
	pid_t pid;
	const char *cgroup, *unit, *uunit;
	const char *id, *runtime, *name; /* id NULL: no container */
	const char *pod_ns, *pod_name, *pod_uid, *pod_ctr; /* uid NULL: no pod */
} wl_rows[] = {
	{ 100, "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID1_
	       ".slice/cri-containerd-" A ".scope", "cri-containerd-" A ".scope", NULL,
	  A, "containerd", "server", "payments", "api-5d8b", UID1, "server" },
	{ 101, "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID1_
	       ".slice/cri-containerd-" A ".scope", "cri-containerd-" A ".scope", NULL,
	  A, "containerd", "server", "payments", "api-5d8b", UID1, "server" },
	/* the pause container: part of its pod, no container name */
	{ 102, "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID1_
	       ".slice/cri-containerd-" B ".scope", "cri-containerd-" B ".scope", NULL,
	  B, "containerd", NULL, "payments", "api-5d8b", UID1, NULL },
	{ 103, "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
	       "9f8e7d6c_aaaa_bbbb_cccc_ddddeeeeffff.slice/crio-" C ".scope",
	  "crio-" C ".scope", NULL, C, "cri-o", "cart", "shop", "cart-7f9c", UID2, "cart" },
	{ 104, "/system.slice/docker-" D ".scope", "docker-" D ".scope", NULL,
	  D, "docker", "web", NULL, NULL, NULL, NULL },
	{ 105, "/machine.slice/libpod-" E ".scope/container", "libpod-" E ".scope", NULL,
	  E, "podman", "db", NULL, NULL, NULL, NULL },
	/* cgroupfs driver, v1 only line: containerd's runc state */
	{ 106, "/", NULL, NULL, F, "containerd", "worker", "batch", "job-x1", UID1,
	  "worker" },
	/* truncated config.json: what the path says, and nothing more */
	{ 107, "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID1_
	       ".slice/cri-containerd-" G ".scope", "cri-containerd-" G ".scope", NULL,
	  G, "containerd", NULL, NULL, NULL, UID1, NULL },
	/* config.v2.json a symlink: not followed */
	{ 108, "/system.slice/docker-" H ".scope", "docker-" H ".scope", NULL,
	  H, "docker", NULL, NULL, NULL, NULL, NULL },
	{ 110, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL }, /* exited */
	{ 111, "/system.slice/nginx.service", "nginx.service", NULL,
	  NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ 112, "/user.slice/user-1000.slice/user@1000.service/app.slice/app-term.scope",
	  "user@1000.service", "app-term.scope", NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ 113, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
};

static void check_row(const struct workload *w, const struct wl_row *r, int i)
{
	ck_assert_ptr_nonnull(w);
	str_is(w->cgroup, r->cgroup, "cgroup", i);
	str_is(w->unit, r->unit, "unit", i);
	str_is(w->user_unit, r->uunit, "user_unit", i);
	if (!r->id) {
		ck_assert_msg(!w->c || !w->c->is_container, "row %d: a container", i);
	} else {
		ck_assert_msg(w->c && w->c->is_container, "row %d: no container", i);
		str_is(w->c->id, r->id, "id", i);
		str_is(w->c->runtime, r->runtime, "runtime", i);
		str_is(w->c->name, r->name, "name", i);
	}
	if (!r->pod_uid) {
		ck_assert_msg(!w->c || !w->c->has_pod, "row %d: a pod", i);
		return;
	}
	ck_assert_msg(w->c && w->c->has_pod, "row %d: no pod", i);
	str_is(w->c->pod_namespace, r->pod_ns, "namespace", i);
	str_is(w->c->pod_name, r->pod_name, "pod", i);
	str_is(w->c->pod_uid, r->pod_uid, "uid", i);
	str_is(w->c->pod_container, r->pod_ctr, "pod container", i);
}

START_TEST(test_resolve)
{
	const size_t n = sizeof(wl_rows) / sizeof(wl_rows[0]);
	struct resolved r;
	char root[PATH_MAX + 16];
	pid_t pids[32];
	size_t i;

	snprintf(root, sizeof(root), "%s/workload", data_dir);
	for (i = 0; i < n; i++)
		pids[i] = wl_rows[i].pid;
	resolve(&r, root, pids, n);
	for (i = 0; i < n; i++)
		check_row(r.t.procs[i].wl, &wl_rows[i], (int)i);
	/* One container, one read: 100 and 101 share A's config.json. */
	ck_assert_ptr_eq(r.t.procs[0].wl->c, r.t.procs[1].wl->c);
	ck_assert_uint_eq(r.ws.ncache, 8);
	/* The truncated config.json is the one error; the symlink is one
	 * too (ELOOP). */
	ck_assert_uint_eq(r.ws.state_errors, 2);
	done(&r);
}
END_TEST

/* Selection and grouping helpers, for --unit, --container, --pod and
 * --group-by. */
START_TEST(test_match_and_keys)
{
	pid_t pids[] = { 100, 102, 104, 105, 111, 112, 110 };
	struct resolved r;
	char root[PATH_MAX + 16], buf[600];
	const struct workload *w100, *w102, *w104, *w105, *w111, *w112, *w110;

	snprintf(root, sizeof(root), "%s/workload", data_dir);
	resolve(&r, root, pids, 7);
	w100 = r.t.procs[0].wl;
	w102 = r.t.procs[1].wl;
	w104 = r.t.procs[2].wl;
	w105 = r.t.procs[3].wl;
	w111 = r.t.procs[4].wl;
	w112 = r.t.procs[5].wl;
	w110 = r.t.procs[6].wl;
	ck_assert(workload_matches(w111, WL_UNIT, "nginx.service"));
	ck_assert(!workload_matches(w111, WL_UNIT, "nginx"));
	ck_assert(workload_matches(w112, WL_UNIT, "app-term.scope"));
	ck_assert(workload_matches(w112, WL_UNIT, "user@1000.service"));
	ck_assert(workload_matches(w104, WL_CONTAINER, "web"));
	ck_assert(workload_matches(w104, WL_CONTAINER, D));
	ck_assert(workload_matches(w104, WL_CONTAINER, "d4d4d4d4d4d4"));
	ck_assert(!workload_matches(w104, WL_CONTAINER, "d4d4d4d4d4d")); /* 11 */
	ck_assert(!workload_matches(w105, WL_CONTAINER, "web"));
	ck_assert(workload_matches(w105, WL_CONTAINER, "db"));
	ck_assert(workload_matches(w100, WL_POD, "payments/api-5d8b"));
	ck_assert(workload_matches(w100, WL_POD, "api-5d8b"));
	ck_assert(workload_matches(w102, WL_POD, "payments/api-5d8b"));
	ck_assert(!workload_matches(w100, WL_POD, "other/api-5d8b"));
	ck_assert(!workload_matches(w110, WL_POD, "api-5d8b"));
	ck_assert(!workload_matches(NULL, WL_UNIT, "x.service"));
	ck_assert_str_eq(workload_key(w100, WL_POD, buf, sizeof(buf)), "payments/api-5d8b");
	ck_assert_str_eq(workload_key(w100, WL_CONTAINER, buf, sizeof(buf)), A);
	ck_assert_str_eq(workload_key(w112, WL_UNIT, buf, sizeof(buf)), "user@1000.service");
	ck_assert_ptr_null(workload_key(w111, WL_POD, buf, sizeof(buf)));
	ck_assert_ptr_null(workload_key(w110, WL_UNIT, buf, sizeof(buf)));
	ck_assert_str_eq(workload_label(w100, buf, sizeof(buf)), "payments/api-5d8b");
	ck_assert_str_eq(workload_label(w104, buf, sizeof(buf)), "web");
	ck_assert_str_eq(workload_label(w111, buf, sizeof(buf)), "nginx.service");
	ck_assert_str_eq(workload_label(w110, buf, sizeof(buf)), "-");
	ck_assert_str_eq(workload_label(NULL, buf, sizeof(buf)), "-");
	done(&r);
}
END_TEST

/* workload_pids over the fixture proc tree: the PIDs --unit,
 * --container and --pod would audit. */
static const struct pids_row {
	enum workload_kind kind;
	const char *args[3];
	pid_t want[5]; /* ascending, 0 ends */
} pids_rows[] = {
	{ WL_POD, { "payments/api-5d8b" }, { 100, 101, 102 } },
	{ WL_POD, { "api-5d8b", "job-x1" }, { 100, 101, 102, 106 } },
	{ WL_POD, { "shop/cart-7f9c" }, { 103 } },
	{ WL_POD, { "nope" }, { 0 } },
	{ WL_UNIT, { "nginx.service", "app-term.scope" }, { 111, 112 } },
	{ WL_UNIT, { "user@1000.service" }, { 112 } },
	{ WL_CONTAINER, { "web", "db" }, { 104, 105 } },
	{ WL_CONTAINER, { "a1a1a1a1a1a1" }, { 100, 101 } },
	{ WL_CONTAINER, { "cart" }, { 103 } },
	{ WL_CONTAINER, { "a1a1a1a1a1" }, { 0 } }, /* too short a prefix */
};

START_TEST(test_pids)
{
	const struct pids_row *r = &pids_rows[_i];
	struct workload_dirs d;
	struct workload_opts o = { .layout = CG_LAYOUT_UNIFIED, .dirs = &d };
	char root[PATH_MAX + 16], proc[PATH_MAX + 32];
	size_t nargs = 0, n, i;
	pid_t *pids;

	snprintf(root, sizeof(root), "%s/workload", data_dir);
	snprintf(proc, sizeof(proc), "%s/proc", root);
	dirs_under(&d, root, dir_bufs);
	o.proc_root = proc;
	while (nargs < 3 && r->args[nargs])
		nargs++;
	ck_assert_int_eq(workload_pids(&o, r->kind, r->args, nargs, &pids, &n), 0);
	for (i = 0; i < n && r->want[i]; i++)
		ck_assert_msg(pids[i] == r->want[i], "row %d: [%zu] %d, want %d", _i, i,
			      (int)pids[i], (int)r->want[i]);
	ck_assert_msg(i == n && (i == 5 || !r->want[i]), "row %d: %zu PIDs", _i, n);
	free(pids);
	o.proc_root = "/nonexistent";
	ck_assert_int_eq(workload_pids(&o, r->kind, r->args, nargs, &pids, &n), -ENOENT);
	ck_assert_ptr_null(pids);
}
END_TEST

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void mkdirs(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	mkdir(buf, 0755);
}

/* Hostile state made here: a 100 MiB sparse config.json, a FIFO (which
 * must not block), a directory, a symlink loop, a deep JSON nest.  Each
 * costs its fields, nothing else. */
START_TEST(test_hostile_state)
{
	static const char *const ids[] = { A, B, C, D, E };
	char tmpl[] = "/tmp/sockaudit-wl-XXXXXX", path[PATH_MAX], cg[512];
	pid_t pids[5];
	struct resolved r;
	char *nest;
	size_t i;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	snprintf(path, sizeof(path), "%s/proc/1", tmpl);
	mkdirs(path);
	for (i = 0; i < 5; i++) {
		pids[i] = 200 + (pid_t)i;
		snprintf(path, sizeof(path), "%s/proc/%d", tmpl, (int)pids[i]);
		mkdirs(path);
		snprintf(path, sizeof(path), "%s/proc/%d/cgroup", tmpl, (int)pids[i]);
		snprintf(cg, sizeof(cg), "0::/kubepods/burstable/pod" UID1 "/%s\n", ids[i]);
		write_file(path, cg);
		snprintf(path, sizeof(path),
			 "%s/run/containerd/io.containerd.runtime.v2.task/k8s.io/%s", tmpl,
			 ids[i]);
		mkdirs(path);
		strcat(path, "/config.json");
		switch (i) {
		case 0:
			fd = open(path, O_WRONLY | O_CREAT, 0644);
			ck_assert_int_ge(fd, 0);
			ck_assert_int_eq(ftruncate(fd, 100 << 20), 0);
			close(fd);
			break;
		case 1:
			ck_assert_int_eq(mkfifo(path, 0644), 0);
			break;
		case 2:
			ck_assert_int_eq(mkdir(path, 0755), 0);
			break;
		case 3:
			ck_assert_int_eq(symlink(path, path), 0);
			break;
		default:
			nest = malloc(200001);
			ck_assert_ptr_nonnull(nest);
			memset(nest, '[', 200000);
			nest[200000] = '\0';
			write_file(path, nest);
			free(nest);
			break;
		}
	}
	resolve(&r, tmpl, pids, 5);
	for (i = 0; i < 5; i++) {
		const struct workload *w = r.t.procs[i].wl;

		ck_assert_msg(w && w->c && w->c->is_container && !strcmp(w->c->id, ids[i]),
			      "row %zu", i);
		ck_assert_ptr_null(w->c->runtime);
		ck_assert_ptr_null(w->c->name);
		ck_assert_str_eq(w->c->pod_uid, UID1);
		ck_assert_ptr_null(w->c->pod_name);
		/* No pod name: the container's short id, before the uid. */
		snprintf(path, sizeof(path), "%.12s", ids[i]);
		ck_assert_str_eq(workload_label(w, cg, sizeof(cg)), path);
	}
	ck_assert_uint_eq(r.ws.state_errors, 5);
	done(&r);
	snprintf(path, sizeof(path), "rm -rf '%s'", tmpl);
	ck_assert_int_eq(system(path), 0);
}
END_TEST

/*
 * Processes the BPF scan saw with one css_set (cgroup_key) in cgroup
 * /a: the first one's /proc/PID/cgroup speaks for the others only when
 * it still names the cgroup the scan saw (the directory's inode number
 * is the scan's cgroup_id).  Row 1: the first moved to /moved before
 * its file was read: the others read their own files.  Row 2: no id
 * from the scan: nothing is shared.
 */
static const struct share_row {
	const char *first; /* what the first process's file says */
	bool give_id;	   /* the scan's cgroup_id is /a's inode */
	bool shared;	   /* the others share the first's entry */
} share_rows[] = {
	{ "/a", true, true },
	{ "/moved", true, false },
	{ "/a", false, false },
};

START_TEST(test_shared_key)
{
	const struct share_row *row = &share_rows[_i];
	struct workload_opts o = { .layout = CG_LAYOUT_UNIFIED };
	char tmpl[] = "/tmp/sockaudit-wl-XXXXXX", path[PATH_MAX], cg[64];
	static const pid_t pids[] = { 300, 301, 302 };
	struct resolved r;
	uint32_t idx[3];
	struct stat st;
	size_t i;

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	memset(&r, 0, sizeof(r));
	table_init(&r.t);
	dirs_under(&r.d, tmpl, dir_bufs);
	snprintf(path, sizeof(path), "%s/sys/fs/cgroup/moved/x", tmpl);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/sys/fs/cgroup/a/x", tmpl);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/sys/fs/cgroup/a", tmpl);
	ck_assert_int_eq(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/proc/1/x", tmpl);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/proc/1/cgroup", tmpl);
	write_file(path, "0::/\n");
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/proc/%d/x", tmpl, (int)pids[i]);
		mkdirs(path);
		snprintf(path, sizeof(path), "%s/proc/%d/cgroup", tmpl, (int)pids[i]);
		snprintf(cg, sizeof(cg), "0::%s\n", i ? "/a" : row->first);
		write_file(path, cg);
		idx[i] = table_add_proc(&r.t, pids[i], "x", 1);
		ck_assert_uint_ne(idx[i], NO_INDEX);
		r.t.procs[idx[i]].cgroup_key = 0xffff888812345600ULL;
		r.t.procs[idx[i]].cgroup_id = row->give_id ? (uint64_t)st.st_ino : 0;
	}
	snprintf(r.root, sizeof(r.root), "%s/proc", tmpl);
	o.proc_root = r.root;
	o.dirs = &r.d;
	ck_assert_int_eq(workload_resolve(&r.ws, &r.t, idx, 3, &o), 0);
	str_is(r.t.procs[idx[0]].wl->cgroup, row->first, "first's cgroup", _i);
	for (i = 1; i < 3; i++) {
		str_is(r.t.procs[idx[i]].wl->cgroup, row->shared ? row->first : "/a",
		       "cgroup", _i);
		ck_assert_msg((r.t.procs[idx[i]].wl == r.t.procs[idx[0]].wl) == row->shared,
			      "row %d: process %zu %s the first's entry", _i, i,
			      row->shared ? "does not share" : "shares");
	}
	done(&r);
	snprintf(path, sizeof(path), "rm -rf '%s'", tmpl);
	ck_assert_int_eq(system(path), 0);
}
END_TEST

static Suite *workload_suite(void)
{
	Suite *s = suite_create("workload");
	TCase *tc = tcase_create("cgroup");

	tcase_add_loop_test(tc, test_layouts, 0,
			    (int)(sizeof(layout_rows) / sizeof(layout_rows[0])));
	tcase_add_loop_test(tc, test_units, 0,
			    (int)(sizeof(unit_rows) / sizeof(unit_rows[0])));
	tcase_add_test(tc, test_unit_too_long);
	tcase_add_loop_test(tc, test_containers, 0,
			    (int)(sizeof(ctr_rows) / sizeof(ctr_rows[0])));
	suite_add_tcase(s, tc);
	tc = tcase_create("resolve");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_resolve);
	tcase_add_test(tc, test_match_and_keys);
	tcase_add_test(tc, test_hostile_state);
	tcase_add_loop_test(tc, test_shared_key, 0,
			    (int)(sizeof(share_rows) / sizeof(share_rows[0])));
	tcase_add_loop_test(tc, test_pids, 0,
			    (int)(sizeof(pids_rows) / sizeof(pids_rows[0])));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	snprintf(data_dir, sizeof(data_dir), "%s", test_data_dir());
	return run_suite(workload_suite());
}
