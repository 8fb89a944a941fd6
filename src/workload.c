/*
 * Workload resolution: PROC_ROOT/PID/cgroup through cgroup.c, then the
 * container's runtime state (runtime.c), read once per container id;
 * and the helpers that select and group processes by workload.
 */
#include "workload.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "runtime.h"
#include "vec.h"

#define CGROUP_FILE_MAX ((size_t)64 * 1024)

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

void workload_dirs_from_env(struct workload_dirs *d)
{
	d->cgroup_root = env_or("SOCKAUDIT_CGROUP_ROOT", "/sys/fs/cgroup");
	d->containerd_state = env_or("SOCKAUDIT_CONTAINERD_STATE",
				     "/run/containerd/io.containerd.runtime.v2.task");
	d->containerd_runc = env_or("SOCKAUDIT_CONTAINERD_RUNC", "/run/containerd/runc");
	d->runc_state = env_or("SOCKAUDIT_RUNC_STATE", "/run/runc");
	d->storage_root = env_or("SOCKAUDIT_CONTAINERS_STORAGE",
				 "/var/lib/containers/storage");
	d->storage_runroot = env_or("SOCKAUDIT_CONTAINERS_RUNROOT",
				    "/run/containers/storage");
	d->docker_root = env_or("SOCKAUDIT_DOCKER_ROOT", "/var/lib/docker");
}

enum cgroup_layout workload_layout(const char *root)
{
	char path[PATH_MAX];
	struct statfs fs;

	if (statfs(root, &fs))
		return CG_LAYOUT_UNKNOWN;
	if (fs.f_type == CGROUP2_SUPER_MAGIC)
		return CG_LAYOUT_UNIFIED;
	if (fs.f_type != TMPFS_MAGIC)
		return CG_LAYOUT_UNKNOWN;
	/* As systemd tells them apart: cgroup2 on unified/ (or on systemd/,
	 * systemd 232's variant) puts systemd on the unified line. */
	snprintf(path, sizeof(path), "%s/unified", root);
	if (!statfs(path, &fs) && fs.f_type == CGROUP2_SUPER_MAGIC)
		return CG_LAYOUT_HYBRID;
	snprintf(path, sizeof(path), "%s/systemd", root);
	if (statfs(path, &fs))
		return CG_LAYOUT_UNKNOWN;
	if (fs.f_type == CGROUP2_SUPER_MAGIC)
		return CG_LAYOUT_HYBRID;
	return fs.f_type == CGROUP_SUPER_MAGIC ? CG_LAYOUT_LEGACY : CG_LAYOUT_UNKNOWN;
}

static void container_free(struct wl_container *c)
{
	if (!c)
		return;
	free(c->key);
	free(c->id);
	free(c->name);
	free(c->pod_namespace);
	free(c->pod_name);
	free(c->pod_uid);
	free(c->pod_container);
	free(c);
}

/* The cached entry for a key, or NULL. */
static struct wl_container *cache_find(const struct workload_set *ws,
				       const char *key)
{
	size_t i;

	for (i = 0; i < ws->ncache; i++)
		if (!strcmp(ws->cache[i]->key, key))
			return ws->cache[i];
	return NULL;
}

static int cache_add(struct workload_set *ws, struct wl_container *c)
{
	if (vec_reserve(&ws->cache, &ws->cache_cap, ws->ncache + 1,
			sizeof(struct wl_container *)))
		return -ENOMEM;
	ws->cache[ws->ncache++] = c;
	return 0;
}

/* The container (or bare pod) a cgroup path names, read once per id.
 * Sets *out NULL when the path names neither.  Returns 0 or -ENOMEM. */
static int container_of(struct workload_set *ws, struct span path,
			const struct workload_dirs *d,
			const struct wl_container **out)
{
	struct cgroup_container cc;
	struct wl_container *c;
	char key[CONTAINER_NAME_MAX + 8];
	int found = cgroup_container(path, &cc), rc;

	*out = NULL;
	if (!found && !cc.pod_uid[0])
		return 0;
	snprintf(key, sizeof(key), "%s%s", found ? "" : "pod:",
		 found ? cc.id : cc.pod_uid);
	c = cache_find(ws, key);
	if (c) {
		*out = c;
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->key = strdup(key);
	rc = c->key ? 0 : -ENOMEM;
	if (!rc && found) {
		c->is_container = true;
		rc = runtime_set_str(&c->id, cc.id);
		if (!rc)
			rc = runtime_set_str(&c->name, cc.name);
		if (!rc)
			rc = runtime_enrich(ws, c, cc.rt, d);
	}
	if (!rc && cc.pod_uid[0]) {
		/* The path's uid is the kubelet's own: it wins. */
		free(c->pod_uid);
		c->pod_uid = strdup(cc.pod_uid);
		rc = c->pod_uid ? 0 : -ENOMEM;
		c->has_pod = true;
	}
	if (!rc)
		rc = cache_add(ws, c);
	if (rc) {
		container_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

static char *span_dup(struct span s)
{
	return strndup(s.p, s.n);
}

/* One process: its cgroup file, then unit, user unit and container. */
static int resolve_one(struct workload_set *ws, struct workload *w, pid_t pid,
		       const struct workload_opts *o)
{
	char path[PATH_MAX], unit[256], *buf = ws->cgbuf;
	struct span root = { ws->root, strlen(ws->root) }, cg;
	struct cgroup_file cf;
	long len;
	int rc;

	w->resolved = true;
	snprintf(path, sizeof(path), "%s/%d/cgroup", o->proc_root, (int)pid);
	len = runtime_read_file(path, buf, CGROUP_FILE_MAX);
	if (len < 0)
		return 0;
	rc = cgroup_parse(buf, (size_t)len, &cf);
	if (!rc)
		rc = cgroup_path(&cf, ws->layout, &cg);
	if (rc)
		return 0;
	w->cgroup = span_dup(cg);
	if (!cgroup_unit(cg, root, unit, sizeof(unit)))
		w->unit = strdup(unit);
	if (!cgroup_user_unit(cg, root, unit, sizeof(unit)))
		w->user_unit = strdup(unit);
	rc = container_of(ws, cg, o->dirs, &w->c);
	/* A runtime may keep the container in a v1 hierarchy only (the
	 * cgroupfs driver on a hybrid host): look at the other line. */
	if (!rc && !w->c && cf.has_systemd && cg.p != cf.systemd.p)
		rc = container_of(ws, cf.systemd, o->dirs, &w->c);
	if (!rc && !w->cgroup)
		rc = -ENOMEM;
	return rc;
}

/* PID 1's cgroup root (see cgroup_root_of): "" when unreadable. */
static char *read_root(const struct workload_opts *o, enum cgroup_layout l,
		       char *buf)
{
	char path[PATH_MAX];
	struct cgroup_file cf;
	struct span cg;
	long len;

	snprintf(path, sizeof(path), "%s/1/cgroup", o->proc_root);
	len = runtime_read_file(path, buf, CGROUP_FILE_MAX);
	if (len < 0 || cgroup_parse(buf, (size_t)len, &cf) || cgroup_path(&cf, l, &cg))
		return strdup("");
	return span_dup(cgroup_root_of(cg));
}

/* The layout, PID 1's root and the cgroup buffer, once per set.
 * Returns 0 or -ENOMEM. */
static int set_init(struct workload_set *ws, const struct workload_opts *o)
{
	if (ws->cgbuf)
		return 0;
	ws->layout = o->layout ? o->layout : workload_layout(o->dirs->cgroup_root);
	ws->cgbuf = malloc(CGROUP_FILE_MAX + 1);
	if (!ws->cgbuf)
		return -ENOMEM;
	ws->root = read_root(o, ws->layout, ws->cgbuf);
	return ws->root ? 0 : -ENOMEM;
}

static uint64_t cgroup_key_hash(uint32_t item, const void *ctx)
{
	const struct sock_table *t = ctx;

	return t->procs[item].cgroup_key;
}

/* The resolved entry of a process in the same cgroups as proc, else
 * NULL (a key of 0 is no key).  Needs room reserved in by_cgroup. */
static struct workload *same_cgroups(struct workload_set *ws,
				     const struct sock_table *t, uint32_t proc,
				     size_t *slot)
{
	uint64_t key = t->procs[proc].cgroup_key;
	size_t j;

	for (j = hindex_first(&ws->by_cgroup, key); !hindex_empty(&ws->by_cgroup, j);
	     j = hindex_next(&ws->by_cgroup, j)) {
		uint32_t other = hindex_item(&ws->by_cgroup, j);

		if (t->procs[other].cgroup_key == key &&
		    t->procs[other].cgroup_id == t->procs[proc].cgroup_id)
			return &ws->v[other];
	}
	*slot = j;
	return NULL;
}

/*
 * Whether w, read from a process's /proc/PID/cgroup after the BPF scan,
 * still names the cgroup2 cgroup the scan saw (id: its directory's
 * inode number).  It may not: the process may have moved, or exited
 * and its PID gone to another.  Only then may the file speak for the
 * other processes of its key.  Unknowable without a cgroup2 mount, or
 * for a path above our cgroup namespace: false.
 */
static bool read_matches_scan(const struct workload_set *ws,
			      const struct workload_opts *o,
			      const struct workload *w, uint64_t id)
{
	char path[PATH_MAX];
	struct stat st;
	int n;

	if (!w->cgroup || !id || w->cgroup[0] != '/' || strstr(w->cgroup, "/.."))
		return false;
	if (ws->layout == CG_LAYOUT_UNIFIED)
		n = snprintf(path, sizeof(path), "%s%s", o->dirs->cgroup_root, w->cgroup);
	else if (ws->layout == CG_LAYOUT_HYBRID)
		n = snprintf(path, sizeof(path), "%s/unified%s", o->dirs->cgroup_root,
			     w->cgroup);
	else
		return false;
	return n > 0 && (size_t)n < sizeof(path) && stat(path, &st) == 0 &&
	       S_ISDIR(st.st_mode) && (uint64_t)st.st_ino == id;
}

/*
 * One process of the table: the entry of another process in the same
 * cgroups when there is one (the BPF source tells: one read of
 * /proc/PID/cgroup per set of cgroups, not per process), else its own.
 * Returns 0 or -ENOMEM.
 */
static int resolve_proc(struct workload_set *ws, struct sock_table *t,
			uint32_t proc, const struct workload_opts *o)
{
	struct workload *w = &ws->v[proc];
	size_t slot = 0;
	int rc;

	if (!t->procs[proc].cgroup_key || w->resolved) {
		t->procs[proc].wl = w;
		return w->resolved ? 0 : resolve_one(ws, w, t->procs[proc].pid, o);
	}
	if (hindex_reserve(&ws->by_cgroup, 1, cgroup_key_hash, t))
		return -ENOMEM;
	t->procs[proc].wl = same_cgroups(ws, t, proc, &slot);
	if (t->procs[proc].wl)
		return 0;
	t->procs[proc].wl = w;
	rc = resolve_one(ws, w, t->procs[proc].pid, o);
	/* One that exited, or moved, before its file was read speaks for
	 * nobody: the next of its key reads its own. */
	if (!rc && read_matches_scan(ws, o, w, t->procs[proc].cgroup_id))
		hindex_put(&ws->by_cgroup, slot, proc);
	return rc;
}

int workload_resolve(struct workload_set *ws, struct sock_table *t,
		     const uint32_t *procs, size_t n,
		     const struct workload_opts *o)
{
	size_t i;
	int rc = set_init(ws, o);

	if (!rc && !ws->v) {
		ws->v = calloc(t->nprocs ? t->nprocs : 1, sizeof(*ws->v));
		if (!ws->v)
			return -ENOMEM;
		ws->n = t->nprocs;
	}
	for (i = 0; i < n && !rc; i++)
		if (procs[i] < ws->n)
			rc = resolve_proc(ws, t, procs[i], o);
	return rc;
}

static void workload_clear(struct workload *w)
{
	free(w->cgroup);
	free(w->unit);
	free(w->user_unit);
	memset(w, 0, sizeof(*w));
}

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* Append pid to a growing list.  Returns 0 or -ENOMEM. */
static int pid_push(pid_t **v, size_t *n, size_t *cap, pid_t pid)
{
	if (VEC_GROW(*v, *cap, *n))
		return -ENOMEM;
	(*v)[(*n)++] = pid;
	return 0;
}

/* A numeric /proc entry: its PID, else 0. */
static pid_t proc_entry_pid(const char *name)
{
	char *end;
	long v;

	if (name[0] < '1' || name[0] > '9')
		return 0;
	errno = 0;
	v = strtol(name, &end, 10);
	return *end || errno || v > INT_MAX ? 0 : (pid_t)v;
}

int workload_pids(const struct workload_opts *o, enum workload_kind k,
		  const char *const *args, size_t nargs, pid_t **pids,
		  size_t *npids)
{
	struct workload_set ws = { 0 };
	struct dirent *e;
	size_t cap = 0, i;
	DIR *d;
	int rc;

	*pids = NULL;
	*npids = 0;
	d = opendir(o->proc_root);
	if (!d)
		return -errno;
	rc = set_init(&ws, o);
	while (!rc && (e = readdir(d))) {
		pid_t pid = proc_entry_pid(e->d_name);
		struct workload w = { 0 };

		if (!pid)
			continue;
		rc = resolve_one(&ws, &w, pid, o);
		for (i = 0; !rc && i < nargs; i++)
			if (workload_matches(&w, k, args[i])) {
				rc = pid_push(pids, npids, &cap, pid);
				break;
			}
		workload_clear(&w);
	}
	closedir(d);
	workload_free(&ws);
	if (rc) {
		free(*pids);
		*pids = NULL;
		*npids = 0;
		return rc;
	}
	if (*npids)
		qsort(*pids, *npids, sizeof(pid_t), pid_cmp);
	return 0;
}

bool workload_query_given(const struct workload_query *q)
{
	return q->nargs[WL_UNIT] || q->nargs[WL_CONTAINER] || q->nargs[WL_POD];
}

bool workload_query_matches(const struct workload *w,
			    const struct workload_query *q)
{
	enum workload_kind k;
	size_t i;

	for (k = WL_UNIT; k <= WL_POD; k++) {
		if (!q->nargs[k])
			continue;
		for (i = 0; i < q->nargs[k]; i++)
			if (workload_matches(w, k, q->args[k][i]))
				break;
		if (i == q->nargs[k])
			return false;
	}
	return true;
}

/*
 * Note the container w is of under every --container name it matches
 * (seen[i]: the first id name i matched).  Returns the index of a name
 * that now matches two ids, else -1.
 */
static long note_container(const struct workload *w,
			   const struct workload_query *q, const char **seen)
{
	size_t i;

	if (!w->c || !w->c->is_container || !w->c->id)
		return -1;
	for (i = 0; i < q->nargs[WL_CONTAINER]; i++) {
		if (!workload_matches(w, WL_CONTAINER, q->args[WL_CONTAINER][i]))
			continue;
		if (!seen[i])
			seen[i] = w->c->id;
		else if (strcmp(seen[i], w->c->id) != 0)
			return (long)i;
	}
	return -1;
}

int workload_select(const struct workload_opts *o,
		    const struct workload_query *q, pid_t **pids, size_t *npids,
		    const char **ambiguous)
{
	struct workload_set ws = { 0 };
	const char **seen;
	struct dirent *e;
	size_t cap = 0;
	long amb = -1;
	DIR *d;
	int rc;

	*pids = NULL;
	*npids = 0;
	*ambiguous = NULL;
	seen = calloc(q->nargs[WL_CONTAINER] + 1, sizeof(*seen));
	if (!seen)
		return -ENOMEM;
	d = opendir(o->proc_root);
	if (!d) {
		rc = -errno;
		free(seen);
		return rc;
	}
	rc = set_init(&ws, o);
	while (!rc && amb < 0 && (e = readdir(d))) {
		pid_t pid = proc_entry_pid(e->d_name);
		struct workload w = { 0 };

		if (!pid)
			continue;
		rc = resolve_one(&ws, &w, pid, o);
		if (!rc)
			amb = note_container(&w, q, seen);
		if (!rc && workload_query_matches(&w, q))
			rc = pid_push(pids, npids, &cap, pid);
		workload_clear(&w);
	}
	closedir(d);
	workload_free(&ws);
	free(seen);
	if (!rc && amb >= 0) {
		*ambiguous = q->args[WL_CONTAINER][amb];
		rc = -EEXIST;
	}
	if (rc) {
		free(*pids);
		*pids = NULL;
		*npids = 0;
		return rc;
	}
	if (*npids)
		qsort(*pids, *npids, sizeof(pid_t), pid_cmp);
	return 0;
}

void workload_free(struct workload_set *ws)
{
	size_t i;

	for (i = 0; i < ws->n && ws->v; i++) {
		free(ws->v[i].cgroup);
		free(ws->v[i].unit);
		free(ws->v[i].user_unit);
	}
	for (i = 0; i < ws->ncache; i++)
		container_free(ws->cache[i]);
	free(ws->v);
	hindex_free(&ws->by_cgroup);
	free(ws->cache);
	free(ws->root);
	free(ws->cgbuf);
	memset(ws, 0, sizeof(*ws));
}

static bool is_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

bool workload_matches(const struct workload *w, enum workload_kind k,
		      const char *arg)
{
	const struct wl_container *c = w ? w->c : NULL;
	const char *slash;

	switch (k) {
	case WL_UNIT:
		return w && ((w->unit && !strcmp(w->unit, arg)) ||
			     (w->user_unit && !strcmp(w->user_unit, arg)));
	case WL_CONTAINER:
		if (!c || !c->is_container)
			return false;
		if (c->name && !strcmp(c->name, arg))
			return true;
		return c->id && strlen(arg) >= 12 && is_hex(arg) &&
		       !strncmp(c->id, arg, strlen(arg));
	case WL_POD:
		if (!c || !c->has_pod || !c->pod_name)
			return false;
		slash = strchr(arg, '/');
		if (!slash)
			return !strcmp(c->pod_name, arg);
		return c->pod_namespace &&
		       strlen(c->pod_namespace) == (size_t)(slash - arg) &&
		       !strncmp(c->pod_namespace, arg, (size_t)(slash - arg)) &&
		       !strcmp(c->pod_name, slash + 1);
	}
	return false;
}

const char *workload_key(const struct workload *w, enum workload_kind k,
			 char *buf, size_t size)
{
	const struct wl_container *c = w ? w->c : NULL;

	switch (k) {
	case WL_UNIT:
		return !w ? NULL : w->unit ? w->unit : w->user_unit;
	case WL_CONTAINER:
		return c && c->is_container ? c->id : NULL;
	case WL_POD:
		if (!c || !c->has_pod)
			return NULL;
		if (c->pod_name) {
			snprintf(buf, size, "%s/%s",
				 c->pod_namespace ? c->pod_namespace : "", c->pod_name);
			return buf;
		}
		return c->pod_uid;
	}
	return NULL;
}

const char *workload_label(const struct workload *w, char *buf, size_t size)
{
	const struct wl_container *c = w ? w->c : NULL;

	if (c && c->has_pod && c->pod_name)
		return workload_key(w, WL_POD, buf, size);
	if (c && c->is_container && c->name)
		return c->name;
	if (c && c->is_container && c->id) {
		snprintf(buf, size, "%.12s", c->id);
		return buf;
	}
	if (c && c->has_pod && c->pod_uid)
		return c->pod_uid;
	if (w && w->unit)
		return w->unit;
	if (w && w->user_unit)
		return w->user_unit;
	return "-";
}
