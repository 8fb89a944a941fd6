/*
 * Cgroup paths without I/O.  The unit rules follow systemd's own
 * (libsystemd's cgroup-util, which procps calls for `ps -o unit,uunit`):
 * leading slices are skipped, the next component must be a valid unit
 * name that is no slice; a user unit sits below user@UID.service or a
 * session-ID.scope.  Paths are first shifted by the root of PID 1's
 * cgroup, as sd_pid_get_unit does.
 */
#include "cgroup.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#define UNIT_NAME_MAX 256

static bool span_eq(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n == n && memcmp(s.p, lit, n) == 0;
}

static bool has_prefix(const char *p, size_t n, const char *lit)
{
	size_t l = strlen(lit);

	return n >= l && memcmp(p, lit, l) == 0;
}

static bool has_suffix(const char *p, size_t n, const char *lit)
{
	size_t l = strlen(lit);

	return n >= l && memcmp(p + n - l, lit, l) == 0;
}

/* Whether the comma-separated list p[0..n) holds `item`. */
static bool list_has(const char *p, size_t n, const char *item)
{
	size_t l = strlen(item);

	while (n) {
		const char *c = memchr(p, ',', n);
		size_t k = c ? (size_t)(c - p) : n;

		if (k == l && memcmp(p, item, l) == 0)
			return true;
		if (!c)
			break;
		n -= k + 1;
		p = c + 1;
	}
	return false;
}

int cgroup_parse(const char *buf, size_t len, struct cgroup_file *cf)
{
	const char *p = buf, *end = buf + len;

	memset(cf, 0, sizeof(*cf));
	cf->all.p = buf;
	cf->all.n = len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *c1 = memchr(p, ':', (size_t)(eol - p));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;

		if (c2) {
			const char *nul = memchr(c2 + 1, '\0', (size_t)(eol - c2 - 1));
			struct span path = { c2 + 1, (size_t)((nul ? nul : eol) - c2 - 1) };

			if (c1 - p == 1 && *p == '0' && c2 == c1 + 1 && !cf->has_unified) {
				cf->unified = path;
				cf->has_unified = true;
			} else if (!cf->has_systemd &&
				   list_has(c1 + 1, (size_t)(c2 - c1 - 1), "name=systemd")) {
				cf->systemd = path;
				cf->has_systemd = true;
			}
		}
		p = nl ? nl + 1 : end;
	}
	return cf->has_unified || cf->has_systemd ? 0 : -EINVAL;
}

int cgroup_path(const struct cgroup_file *cf, enum cgroup_layout l,
		struct span *out)
{
	bool unified;

	switch (l) {
	case CG_LAYOUT_UNIFIED:
	case CG_LAYOUT_HYBRID:
		unified = true;
		break;
	case CG_LAYOUT_LEGACY:
		unified = false;
		break;
	default:
		unified = cf->has_unified &&
			  !(span_eq(cf->unified, "/") && cf->has_systemd);
		break;
	}
	if (unified ? !cf->has_unified : !cf->has_systemd)
		return -ENOENT;
	*out = unified ? cf->unified : cf->systemd;
	return 0;
}

struct span cgroup_root_of(struct span p)
{
	static const char *const suffixes[] = { "/init.scope", "/system.slice",
						"/system" };
	size_t i;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (has_suffix(p.p, p.n, suffixes[i])) {
			p.n -= strlen(suffixes[i]);
			break;
		}
	return p;
}

/*
 * Shift a path by the root as systemd does: when the root is a leading
 * part of the path (component-wise, slashes collapsed), the rest from
 * the character before it; else the path as it is.
 */
static struct span shift(struct span path, struct span root)
{
	const char *a = path.p, *ae = path.p + path.n;
	const char *b = root.p, *be = root.p + root.n;

	if (!root.n || !path.n || (path.p[0] == '/') != (root.p[0] == '/'))
		return path;
	for (;;) {
		size_t x, y;

		while (a < ae && *a == '/')
			a++;
		while (b < be && *b == '/')
			b++;
		if (b == be)
			break;
		if (a == ae)
			return path;
		for (x = 0; a + x < ae && a[x] != '/'; x++)
			;
		for (y = 0; b + y < be && b[y] != '/'; y++)
			;
		if (x != y || memcmp(a, b, x) != 0)
			return path;
		a += x;
		b += x;
	}
	if (a > path.p) {
		struct span s = { a - 1, (size_t)(ae - a + 1) };

		return s;
	}
	return path;
}

static bool unit_type_valid(const char *p, size_t n)
{
	static const char *const types[] = {
		"service", "socket", "target", "device", "mount", "automount",
		"swap", "timer", "path", "slice", "scope",
	};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strlen(types[i]) == n && memcmp(types[i], p, n) == 0)
			return true;
	return false;
}

enum { NAME_PLAIN = 1, NAME_INSTANCE = 2 };

/* systemd's unit_name_is_valid for plain and instance names. */
static bool unit_name_valid(const char *p, size_t n, unsigned flags)
{
	const char *dot = NULL;
	size_t i, at = SIZE_MAX;

	if (!n || n >= UNIT_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (p[i] == '.')
			dot = p + i;
	if (!dot || dot == p || !unit_type_valid(dot + 1, (size_t)(p + n - dot - 1)))
		return false;
	for (i = 0; p + i < dot; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '@' && at == SIZE_MAX)
			at = i;
		if (!isascii(c) || !(isalnum(c) || strchr(":-_.\\@", c)) || !c)
			return false;
	}
	if (at == 0)
		return false;
	if ((flags & NAME_PLAIN) && at == SIZE_MAX)
		return true;
	return (flags & NAME_INSTANCE) && at != SIZE_MAX && p + at + 1 < dot;
}

/* The length of the component at p (up to '/' or the end). */
static size_t comp_len(const char *p, const char *end)
{
	const char *s = memchr(p, '/', (size_t)(end - p));

	return (size_t)((s ? s : end) - p);
}

static const char *skip_slashes(const char *p, const char *end)
{
	while (p < end && *p == '/')
		p++;
	return p;
}

static bool valid_slice(const char *p, size_t n)
{
	if (n < strlen("x.slice") || !has_suffix(p, n, ".slice"))
		return false;
	if (*p == '_') {
		p++;
		n--;
	}
	return unit_name_valid(p, n, NAME_PLAIN);
}

static const char *skip_slices(const char *p, const char *end)
{
	for (;;) {
		size_t n;

		p = skip_slashes(p, end);
		n = comp_len(p, end);
		if (!valid_slice(p, n))
			return p;
		p += n;
	}
}

/* cg_path_get_unit on p[..end).  Returns 0 with the unit in out, or
 * -ENXIO. */
static int unit_at(const char *p, const char *end, char *out, size_t size)
{
	size_t n;

	p = skip_slices(p, end);
	n = comp_len(p, end);
	if (n < 3)
		return -ENXIO;
	if (*p == '_') {
		p++;
		n--;
	}
	if (!unit_name_valid(p, n, NAME_PLAIN | NAME_INSTANCE) ||
	    has_suffix(p, n, ".slice") || n >= size)
		return -ENXIO;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int cgroup_unit(struct span path, struct span root, char *out, size_t size)
{
	path = shift(path, root);
	return unit_at(path.p, path.p + path.n, out, size);
}

/* A uid as systemd's parse_uid takes it: decimal, no sign, no leading
 * zero, not (uid_t)-1 or 65535. */
static bool uid_valid(const char *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	if (!n || n > 10 || (p[0] == '0' && n > 1))
		return false;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	return v < 0xffffffffu && v != 0xffffu;
}

/* After user@UID.service (and its slashes), or NULL. */
static const char *skip_user_manager(const char *p, const char *end)
{
	size_t n;

	p = skip_slashes(p, end);
	n = comp_len(p, end);
	if (n < strlen("user@x.service") || !has_prefix(p, n, "user@") ||
	    !has_suffix(p, n, ".service") ||
	    !uid_valid(p + 5, n - 5 - strlen(".service")))
		return NULL;
	return skip_slashes(p + n, end);
}

/* After session-ID.scope (ID letters and digits), or NULL. */
static const char *skip_session(const char *p, const char *end)
{
	size_t n, i;

	p = skip_slashes(p, end);
	n = comp_len(p, end);
	if (n < strlen("session-x.scope") || !has_prefix(p, n, "session-") ||
	    !has_suffix(p, n, ".scope"))
		return NULL;
	for (i = 8; i < n - 6; i++)
		if (!isascii((unsigned char)p[i]) || !isalnum((unsigned char)p[i]))
			return NULL;
	return skip_slashes(p + n, end);
}

int cgroup_user_unit(struct span path, struct span root, char *out,
		     size_t size)
{
	const char *end, *p, *t;

	path = shift(path, root);
	end = path.p + path.n;
	if (!path.n)
		return -ENXIO;
	p = skip_slices(path.p, end);
	t = p < end ? skip_user_manager(p, end) : NULL;
	if (!t && p < end)
		t = skip_session(p, end);
	if (!t)
		return -ENXIO;
	return unit_at(t, end, out, size);
}

const char *cgroup_runtime_name(enum container_runtime rt)
{
	switch (rt) {
	case RT_DOCKER:
		return "docker";
	case RT_CONTAINERD:
		return "containerd";
	case RT_CRIO:
		return "cri-o";
	case RT_PODMAN:
		return "podman";
	case RT_RUNC:
		return "runc";
	case RT_LXC:
		return "lxc";
	case RT_NSPAWN:
		return "systemd-nspawn";
	default:
		return NULL;
	}
}

static bool is_hex64(const char *p, size_t n)
{
	size_t i;

	if (n != CONTAINER_ID_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

/* PREFIX<64 hex>SUFFIX (suffix optional when `opt`): the id, or NULL. */
static const char *id_between(const char *p, size_t n, const char *prefix,
			      const char *suffix, bool opt)
{
	size_t a = strlen(prefix), b = strlen(suffix);

	if (!has_prefix(p, n, prefix))
		return NULL;
	if (n == a + CONTAINER_ID_MAX + b && has_suffix(p, n, suffix) &&
	    is_hex64(p + a, CONTAINER_ID_MAX))
		return p + a;
	if (opt && n == a + CONTAINER_ID_MAX && is_hex64(p + a, CONTAINER_ID_MAX))
		return p + a;
	return NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A machine name from a unit name part: systemd escapes as \xNN. */
static void unescape_name(const char *p, size_t n, char *out, size_t size)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 1 < size; i++) {
		if (p[i] == '\\' && i + 3 < n && p[i + 1] == 'x' &&
		    hexval(p[i + 2]) >= 0 && hexval(p[i + 3]) >= 0) {
			out[o++] = (char)(hexval(p[i + 2]) * 16 + hexval(p[i + 3]));
			i += 3;
		} else {
			out[o++] = p[i];
		}
	}
	out[o] = '\0';
}

static void set_id(struct cgroup_container *cc, enum container_runtime rt,
		   const char *id, size_t n)
{
	if (n > CONTAINER_NAME_MAX)
		n = CONTAINER_NAME_MAX;
	cc->rt = rt;
	memcpy(cc->id, id, n);
	cc->id[n] = '\0';
	cc->name[0] = '\0';
}

/* The machine-name forms: lxc.payload.NAME, machine-NAME.scope,
 * systemd-nspawn@NAME.service.  Returns 1 when c is one. */
static int machine_of(const char *c, size_t n, struct cgroup_container *cc)
{
	const char *name = NULL;
	size_t len = 0;
	enum container_runtime rt = RT_NONE;

	if (has_prefix(c, n, "lxc.payload.") && n > 12) {
		name = c + 12;
		len = n - 12;
		rt = RT_LXC;
	} else if (has_prefix(c, n, "machine-") && has_suffix(c, n, ".scope") &&
		   n > 14) {
		name = c + 8;
		len = n - 14;
		rt = RT_NSPAWN;
	} else if (has_prefix(c, n, "systemd-nspawn@") &&
		   has_suffix(c, n, ".service") && n > 23) {
		name = c + 15;
		len = n - 23;
		rt = RT_NSPAWN;
	}
	if (!name)
		return 0;
	cc->rt = rt;
	unescape_name(name, len, cc->name, sizeof(cc->name));
	memcpy(cc->id, cc->name, sizeof(cc->id));
	return 1;
}

/* A pod uid from podUID (cgroupfs) or kubepods[-QOS]-podUID.slice
 * (systemd, '-' written '_'). */
static void pod_uid_of(const char *c, size_t n, char *uid)
{
	const char *u = NULL;
	size_t len = 0, i;

	if (has_prefix(c, n, "pod") && n > 3) {
		u = c + 3;
		len = n - 3;
	} else if (has_prefix(c, n, "kubepods") && has_suffix(c, n, ".slice")) {
		for (i = n - 6; i >= 4 && !u; i--)
			if (memcmp(c + i - 4, "-pod", 4) == 0) {
				u = c + i;
				len = n - 6 - i;
			}
	}
	if (!u || !len || len > POD_UID_MAX)
		return;
	for (i = 0; i < len; i++)
		if (!(isascii((unsigned char)u[i]) && (isxdigit((unsigned char)u[i]) ||
						      u[i] == '-' || u[i] == '_')))
			return;
	for (i = 0; i < len; i++)
		uid[i] = (char)(u[i] == '_' ? '-' : u[i]);
	uid[len] = '\0';
}

int cgroup_container(struct span path, struct cgroup_container *cc)
{
	static const struct {
		const char *prefix, *suffix;
		bool opt;
		enum container_runtime rt;
	} forms[] = {
		{ "docker-", ".scope", false, RT_DOCKER },
		{ "cri-containerd-", ".scope", false, RT_CONTAINERD },
		{ "crio-", ".scope", false, RT_CRIO },
		{ "libpod-", ".scope", true, RT_PODMAN },
	};
	const char *p = path.p, *end = path.p + path.n, *prev = NULL;
	size_t prevn = 0, i;
	bool kube = false, specific = false;

	memset(cc, 0, sizeof(*cc));
	for (p = skip_slashes(p, end); p < end; p = skip_slashes(p + prevn, end)) {
		size_t n = comp_len(p, end);
		const char *id = NULL;

		if (has_prefix(p, n, "kubepods"))
			kube = true;
		if (kube)
			pod_uid_of(p, n, cc->pod_uid);
		for (i = 0; !id && i < sizeof(forms) / sizeof(forms[0]); i++) {
			id = id_between(p, n, forms[i].prefix, forms[i].suffix,
					forms[i].opt);
			if (id)
				set_id(cc, forms[i].rt, id, CONTAINER_ID_MAX);
		}
		if (id || machine_of(p, n, cc)) {
			specific = true;
		} else if (prev && prevn == 3 && memcmp(prev, "lxc", 3) == 0) {
			set_id(cc, RT_LXC, p, n);
			memcpy(cc->name, cc->id, sizeof(cc->name));
			specific = true;
		} else if (!specific && is_hex64(p, n)) {
			set_id(cc, prev && prevn == 6 && !memcmp(prev, "docker", 6) ?
				   RT_DOCKER : RT_UNKNOWN, p, n);
		}
		prev = p;
		prevn = n;
	}
	return cc->rt != RT_NONE;
}
