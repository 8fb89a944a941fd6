/*
 * The container runtimes' own files: containerd's task config.json,
 * runc's state.json (under containerd or its own root), containers/storage
 * (podman, CRI-O) and docker's config.v2.json.  Files are opened without
 * following a final symlink, must be regular files of at most STATE_MAX
 * bytes, and are parsed with cJSON; anything else leaves the fields they
 * would have given NULL and is counted in the workload set.
 */
#include "runtime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define STATE_MAX ((size_t)1024 * 1024)		/* config.json, state.json */
#define CONTAINERS_JSON_MAX ((size_t)16 * 1024 * 1024) /* podman's containers.json */
#define NAMESPACES_MAX 64		/* containerd namespaces looked at */

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

long runtime_read_file(const char *path, char *buf, size_t max)
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

int runtime_set_str(char **dst, const char *src)
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
	rc |= runtime_set_str(&c->pod_namespace, annot(a, "io.kubernetes.cri.sandbox-namespace"));
	rc |= runtime_set_str(&c->pod_namespace, annot(a, "io.kubernetes.pod.namespace"));
	rc |= runtime_set_str(&c->pod_name, annot(a, "io.kubernetes.cri.sandbox-name"));
	rc |= runtime_set_str(&c->pod_name, annot(a, "io.kubernetes.pod.name"));
	rc |= runtime_set_str(&c->pod_uid, annot(a, "io.kubernetes.cri.sandbox-uid"));
	rc |= runtime_set_str(&c->pod_uid, annot(a, "io.kubernetes.pod.uid"));
	rc |= runtime_set_str(&c->pod_container, ctr);
	rc |= runtime_set_str(&c->name, ctr);
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
		rc = runtime_set_str(&c->name, name->valuestring + (name->valuestring[0] == '/'));
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
				rc = runtime_set_str(&c->name, first->valuestring);
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

int runtime_enrich(struct workload_set *ws, struct wl_container *c,
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
			rc = runtime_set_str(&c->name, c->id);
		}
	}
	return rc < 0 ? rc : 0;
}
