/*
 * Cgroup paths, without I/O: the bytes of /proc/PID/cgroup, the path
 * systemd reads from them, the systemd unit and user unit it derives
 * (what `ps -o unit,uunit` prints: sd_pid_get_unit and
 * sd_pid_get_user_unit), and the container a path names.
 */
#ifndef CGROUP_H
#define CGROUP_H

#include <stdbool.h>
#include <stddef.h>

/* Where systemd keeps its hierarchy. */
enum cgroup_layout {
	CG_LAYOUT_UNKNOWN = 0, /* not detected: prefer 0::, else name=systemd */
	CG_LAYOUT_UNIFIED,     /* cgroup v2 only */
	CG_LAYOUT_HYBRID,      /* v1 controllers, systemd on cgroup2 (unified) */
	CG_LAYOUT_LEGACY,      /* v1 only: systemd on name=systemd */
};

/* A piece of the parsed buffer (not NUL-terminated). */
struct span {
	const char *p;
	size_t n;
};

/* The two lines of /proc/PID/cgroup systemd may read. */
struct cgroup_file {
	struct span unified; /* "0::PATH", n 0 when absent */
	struct span systemd; /* "N:name=systemd:PATH" (or "N:...,name=systemd,...") */
	bool has_unified, has_systemd;
	struct span all;     /* the whole buffer, for cgroup_container */
};

/*
 * Parse the bytes of /proc/PID/cgroup.  Returns 0, or -EINVAL when
 * neither line is there.  The spans point into buf.
 */
int cgroup_parse(const char *buf, size_t len, struct cgroup_file *cf);

/*
 * The path systemd reads for a process (its "cgroup"), given the layout:
 * the unified line on unified and hybrid hosts, the name=systemd line on
 * v1-only ones; with CG_LAYOUT_UNKNOWN the unified line unless it is
 * "/" and a name=systemd line is there.  Returns 0 or -ENOENT.
 */
int cgroup_path(const struct cgroup_file *cf, enum cgroup_layout l,
		struct span *out);

/*
 * The root systemd shifts paths by: PID 1's path without a trailing
 * "/init.scope", "/system.slice" or "/system".
 */
struct span cgroup_root_of(struct span pid1_path);

/*
 * The unit and user unit of a path, as sd_pid_get_unit and
 * sd_pid_get_user_unit give them after shifting by `root`: written
 * NUL-terminated into out (size >= 256).  Returns 0, or -ENXIO when the
 * path names none (ps prints "-").
 */
int cgroup_unit(struct span path, struct span root, char *out, size_t size);
int cgroup_user_unit(struct span path, struct span root, char *out,
		     size_t size);

enum container_runtime {
	RT_NONE = 0,
	RT_UNKNOWN,	/* an id, runtime not told by the path */
	RT_DOCKER,
	RT_CONTAINERD,
	RT_CRIO,
	RT_PODMAN,
	RT_RUNC,
	RT_LXC,
	RT_NSPAWN,
};

/* "docker", "containerd", ...; NULL for RT_NONE and RT_UNKNOWN. */
const char *cgroup_runtime_name(enum container_runtime rt);

#define CONTAINER_ID_MAX 64
#define CONTAINER_NAME_MAX 255
#define POD_UID_MAX 64

/* What a cgroup path says of a container and its pod. */
struct cgroup_container {
	enum container_runtime rt;
	/* 64 hex digits for the OCI runtimes; lxc and systemd-nspawn: the
	 * machine name, which is also `name`. */
	char id[CONTAINER_NAME_MAX + 1];
	char name[CONTAINER_NAME_MAX + 1]; /* "" when the path does not say */
	char pod_uid[POD_UID_MAX + 1];	   /* "" outside kubepods */
};

/*
 * The container of a path, matched anywhere in it: the innermost of
 * docker-ID.scope, cri-containerd-ID.scope, crio-ID.scope, libpod-ID[.scope],
 * lxc.payload.NAME or lxc/NAME, machine-NAME.scope and
 * systemd-nspawn@NAME.service; else the innermost component of 64 hex
 * digits (cgroupfs drivers: /docker/ID, /kubepods/QOS/podUID/ID).  The
 * pod uid from a podUID or kubepods-...-podUID.slice component.
 * Returns 1 when a container was found, 0 when none (cc->rt RT_NONE;
 * pod_uid may still be set).
 */
int cgroup_container(struct span path, struct cgroup_container *cc);

#endif
