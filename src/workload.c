/*
 * Workload resolution: PROC_ROOT/PID/cgroup through cgroup.c, then the
 * container's runtime state, read once per container id.  Runtime files
 * are opened without following a final symlink, must be regular files
 * of at most STATE_MAX bytes, and are parsed with cJSON; anything else
 * leaves the fields they would have given NULL.
 */
#include "workload.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define CGROUP_FILE_MAX ((size_t)64 * 1024)
#define STATE_MAX ((size_t)1024 * 1024)		/* config.json, state.json */
#define CONTAINERS_JSON_MAX ((size_t)16 * 1024 * 1024) /* podman's containers.json */
#define NAMESPACES_MAX 64		/* containerd namespaces looked at */

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

/* Open a regular file for reading, not through a final symlink and
 * without blocking on a FIFO.  Returns the descriptor or -errno. */
static int open_regular(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, st) || !S_ISREG(st->st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* Read fd into b[0..cap) until the end of the file or cap bytes.
 * Returns the length or -errno. */
static long read_all(int fd, char *b, size_t cap)
{
	size_t len = 0;

	while (len < cap) {
		ssize_t r = read(fd, b + len, cap - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	return (long)len;
}

/*
 * Read a whole regular file of at most max bytes into buf (max + 1
 * bytes), NUL-terminated: for /proc files, whose size stat does not
 * give.  Returns the length, or -errno (-EFBIG: larger).
 */
static long read_into(const char *path, char *buf, size_t max)
{
	struct stat st = { 0 };
	int fd = open_regular(path, &st);
	long len;

	if (fd < 0)
		return fd;
	len = read_all(fd, buf, max + 1);
	close(fd);
	if (len > (long)max)
		return -EFBIG;
	if (len >= 0)
		buf[len] = '\0';
	return len;
}

/* A state file may grow this much between fstat and read. */
#define STATE_SLACK 4096

/*
 * Read a whole regular file of at most max bytes, NUL-terminated, into
 * a malloc'd *buf sized by the file.  A final symlink, a FIFO or device,
 * or a larger file is refused.  Returns the length, or -errno (-EFBIG:
 * too large).
 */
static long read_bounded(const char *path, size_t max, char **buf)
{
	struct stat st = { 0 };
	int fd = open_regular(path, &st);
	size_t cap;
	long len;

	*buf = NULL;
	if (fd < 0)
		return fd;
	if (st.st_size < 0 || (uint64_t)st.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	cap = (size_t)st.st_size + STATE_SLACK;
	if (cap > max)
		cap = max;
	*buf = malloc(cap + 1);
	if (!*buf) {
		close(fd);
		return -ENOMEM;
	}
	len = read_all(fd, *buf, cap + 1);
	close(fd);
	if (len > (long)cap)
		len = -EFBIG;
	if (len < 0) {
		free(*buf);
		*buf = NULL;
		return len;
	}
	(*buf)[len] = '\0';
	return len;
}

/* Parse a JSON state file; NULL when absent (-ENOENT in *err) or bad. */
static cJSON *read_json(struct workload_set *ws, const char *path, size_t max)
{
	char *buf;
	long len = read_bounded(path, max, &buf);
	cJSON *j;

	if (len == -ENOENT || len == -ENOTDIR)
		return NULL;
	ws->files_read++;
	if (len < 0) {
		ws->state_errors++;
		ws->state_errno = (int)-len;
		return NULL;
	}
	j = cJSON_ParseWithLength(buf, (size_t)len);
	free(buf);
	if (!j) {
		ws->state_errors++;
		ws->state_errno = EINVAL;
	}
	return j;
}

/* Annotations: an OCI "annotations" object, or runc's "labels" array of
 * "key=value" strings. */
struct annots {
	const cJSON *obj, *labels;
};

static const char *annot(const struct annots *a, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(a->obj, key);
	const cJSON *l;
	size_t klen = strlen(key);

	if (cJSON_IsString(v))
		return v->valuestring;
	cJSON_ArrayForEach(l, a->labels)
		if (cJSON_IsString(l) && !strncmp(l->valuestring, key, klen) &&
		    l->valuestring[klen] == '=')
			return l->valuestring + klen + 1;
	return NULL;
}

static bool annot_prefixed(const struct annots *a, const char *prefix)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, a->obj)
		if (v->string && !strncmp(v->string, prefix, strlen(prefix)))
			return true;
	return false;
}

/* Set *dst to a copy of src unless already set; src may be NULL. */
static int set_str(char **dst, const char *src)
{
	if (*dst || !src || !*src)
		return 0;
	*dst = strndup(src, CONTAINER_NAME_MAX);
	return *dst ? 0 : -ENOMEM;
}

/* The pod and names the annotations give. */
static int apply_annots(struct wl_container *c, const struct annots *a)
{
	const char *type = annot(a, "io.kubernetes.cri.container-type");
	const char *crio = annot(a, "io.kubernetes.cri-o.ContainerType");
	const char *dock = annot(a, "io.kubernetes.docker.type");
	bool sandbox = (type && !strcmp(type, "sandbox")) ||
		       (crio && !strcmp(crio, "sandbox")) ||
		       (dock && !strcmp(dock, "podsandbox"));
	const char *ctr = annot(a, "io.kubernetes.cri.container-name");
	int rc = 0;

	if (!ctr)
		ctr = annot(a, "io.kubernetes.container.name");
	if (sandbox)
		ctr = NULL;
	rc |= set_str(&c->pod_namespace, annot(a, "io.kubernetes.cri.sandbox-namespace"));
	rc |= set_str(&c->pod_namespace, annot(a, "io.kubernetes.pod.namespace"));
	rc |= set_str(&c->pod_name, annot(a, "io.kubernetes.cri.sandbox-name"));
	rc |= set_str(&c->pod_name, annot(a, "io.kubernetes.pod.name"));
	rc |= set_str(&c->pod_uid, annot(a, "io.kubernetes.cri.sandbox-uid"));
	rc |= set_str(&c->pod_uid, annot(a, "io.kubernetes.pod.uid"));
	rc |= set_str(&c->pod_container, ctr);
	rc |= set_str(&c->name, ctr);
	if (c->pod_namespace || c->pod_name || c->pod_uid)
		c->has_pod = true;
	return rc ? -ENOMEM : 0;
}

/* An OCI config.json or runc state.json: 1 when read, 0 when absent. */
static int read_oci(struct workload_set *ws, struct wl_container *c,
		    const char *path, bool state)
{
	cJSON *j = read_json(ws, path, STATE_MAX);
	struct annots a = { 0 };
	int rc;

	if (!j)
		return 0;
	if (state) {
		const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(j, "config");

		a.labels = cJSON_GetObjectItemCaseSensitive(cfg, "labels");
		if (!cJSON_IsArray(a.labels))
			a.labels = NULL;
	} else {
		a.obj = cJSON_GetObjectItemCaseSensitive(j, "annotations");
		if (!cJSON_IsObject(a.obj))
			a.obj = NULL;
		if (!c->runtime && annot_prefixed(&a, "io.kubernetes.cri-o."))
			c->runtime = cgroup_runtime_name(RT_CRIO);
		if (!c->runtime && a.obj && annot(&a, "io.container.manager") &&
		    !strcmp(annot(&a, "io.container.manager"), "libpod"))
			c->runtime = cgroup_runtime_name(RT_PODMAN);
	}
	rc = apply_annots(c, &a);
	cJSON_Delete(j);
	return rc ? rc : 1;
}

/* containerd: DIR/NAMESPACE/ID/FILE in any namespace. */
static int read_containerd(struct workload_set *ws, struct wl_container *c,
			   const char *dir, const char *file, bool state)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0, seen = 0;

	if (!d)
		return 0;
	while (!rc && seen < NAMESPACES_MAX && (e = readdir(d))) {
		char path[PATH_MAX];

		if (e->d_name[0] == '.')
			continue;
		seen++;
		snprintf(path, sizeof(path), "%s/%s/%s/%s", dir, e->d_name, c->id, file);
		rc = read_oci(ws, c, path, state);
	}
	closedir(d);
	return rc;
}

/* docker's config.v2.json: "Name" ("/name") and its labels. */
static int read_docker(struct workload_set *ws, struct wl_container *c,
		       const char *root)
{
	char path[PATH_MAX];
	const cJSON *name, *cfg;
	struct annots a = { 0 };
	cJSON *j;
	int rc;

	snprintf(path, sizeof(path), "%s/containers/%s/config.v2.json", root, c->id);
	j = read_json(ws, path, STATE_MAX);
	if (!j)
		return 0;
	cfg = cJSON_GetObjectItemCaseSensitive(j, "Config");
	a.obj = cJSON_GetObjectItemCaseSensitive(cfg, "Labels");
	if (!cJSON_IsObject(a.obj))
		a.obj = NULL;
	rc = apply_annots(c, &a);
	name = cJSON_GetObjectItemCaseSensitive(j, "Name");
	if (!rc && cJSON_IsString(name))
		rc = set_str(&c->name, name->valuestring + (name->valuestring[0] == '/'));
	cJSON_Delete(j);
	return rc ? rc : 1;
}

/* containers/storage: the container's first name in containers.json. */
static int read_storage_name(struct workload_set *ws, struct wl_container *c,
			     const char *root)
{
	char path[PATH_MAX];
	const cJSON *e;
	cJSON *j;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/overlay-containers/containers.json", root);
	j = read_json(ws, path, CONTAINERS_JSON_MAX);
	cJSON_ArrayForEach(e, j) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
		const cJSON *names = cJSON_GetObjectItemCaseSensitive(e, "names");

		if (cJSON_IsString(id) && !strcmp(id->valuestring, c->id)) {
			const cJSON *first = cJSON_GetArrayItem(names, 0);

			if (cJSON_IsString(first))
				rc = set_str(&c->name, first->valuestring);
			break;
		}
	}
	cJSON_Delete(j);
	return rc;
}

/* podman and CRI-O: userdata/config.json under either root. */
static int read_storage(struct workload_set *ws, struct wl_container *c,
			const struct workload_dirs *d)
{
	const char *roots[2] = { d->storage_runroot, d->storage_root };
	int i, rc = 0;

	for (i = 0; i < 2 && !rc; i++) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path),
			 "%s/overlay-containers/%s/userdata/config.json", roots[i], c->id);
		rc = read_oci(ws, c, path, false);
	}
	if (rc == 1 && c->runtime && !strcmp(c->runtime, "podman"))
		rc = read_storage_name(ws, c, d->storage_root) ? -ENOMEM : 1;
	return rc;
}

/*
 * Fill a container from its runtime's files: the runtime the path named
 * first, then (an id alone, as cgroupfs drivers write) each in turn.
 * Returns 0 or -ENOMEM.
 */
static int enrich(struct workload_set *ws, struct wl_container *c,
		  enum container_runtime rt, const struct workload_dirs *d)
{
	int rc = 0;

	c->runtime = cgroup_runtime_name(rt);
	if (rt == RT_LXC || rt == RT_NSPAWN)
		return 0;
	if (rt == RT_CONTAINERD || rt == RT_UNKNOWN) {
		rc = read_containerd(ws, c, d->containerd_state, "config.json", false);
		if (!rc)
			rc = read_containerd(ws, c, d->containerd_runc, "state.json", true);
		if (rc == 1 && !c->runtime)
			c->runtime = cgroup_runtime_name(RT_CONTAINERD);
	}
	if (!rc && (rt == RT_CRIO || rt == RT_PODMAN || rt == RT_UNKNOWN))
		rc = read_storage(ws, c, d);
	if (!rc && (rt == RT_DOCKER || rt == RT_UNKNOWN)) {
		rc = read_docker(ws, c, d->docker_root);
		if (rc == 1 && !c->runtime)
			c->runtime = cgroup_runtime_name(RT_DOCKER);
	}
	if (!rc && rt == RT_UNKNOWN) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s/state.json", d->runc_state, c->id);
		rc = read_oci(ws, c, path, true);
		if (rc == 1) {
			c->runtime = cgroup_runtime_name(RT_RUNC);
			rc = set_str(&c->name, c->id);
		}
	}
	return rc < 0 ? rc : 0;
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
	if (ws->ncache == ws->cache_cap) {
		size_t cap = ws->cache_cap ? 2 * ws->cache_cap : 16;
		void *v = realloc(ws->cache, cap * sizeof(struct wl_container *));

		if (!v)
			return -ENOMEM;
		ws->cache = v;
		ws->cache_cap = cap;
	}
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
		rc = set_str(&c->id, cc.id);
		if (!rc)
			rc = set_str(&c->name, cc.name);
		if (!rc)
			rc = enrich(ws, c, cc.rt, d);
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
	len = read_into(path, buf, CGROUP_FILE_MAX);
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
	len = read_into(path, buf, CGROUP_FILE_MAX);
	if (len < 0 || cgroup_parse(buf, (size_t)len, &cf) || cgroup_path(&cf, l, &cg))
		return strdup("");
	return span_dup(cgroup_root_of(cg));
}

int workload_resolve(struct workload_set *ws, struct sock_table *t,
		     const uint32_t *procs, size_t n,
		     const struct workload_opts *o)
{
	size_t i;
	int rc = 0;

	if (!ws->v) {
		ws->layout = o->layout ? o->layout :
			     workload_layout(o->dirs->cgroup_root);
		ws->cgbuf = malloc(CGROUP_FILE_MAX + 1);
		if (!ws->cgbuf)
			return -ENOMEM;
		ws->root = read_root(o, ws->layout, ws->cgbuf);
		ws->v = calloc(t->nprocs ? t->nprocs : 1, sizeof(*ws->v));
		if (!ws->v || !ws->root)
			return -ENOMEM;
		ws->n = t->nprocs;
	}
	for (i = 0; i < n && !rc; i++) {
		struct workload *w = &ws->v[procs[i]];

		if (procs[i] >= ws->n)
			continue;
		if (!w->resolved)
			rc = resolve_one(ws, w, t->procs[procs[i]].pid, o);
		t->procs[procs[i]].wl = w;
	}
	return rc;
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
