/* libFuzzer target: the bytes of /proc/PID/cgroup through every parser of
 * cgroup.h.  The first byte picks the layout (its low two bits); the
 * rest is the file, also taken whole as a path and as PID 1's root. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_path(struct span path, struct span root)
{
	struct cgroup_container cc;
	char unit[256];

	if (!cgroup_unit(path, root, unit, sizeof(unit)) && strlen(unit) >= sizeof(unit))
		abort();
	if (!cgroup_user_unit(path, root, unit, sizeof(unit)) &&
	    strlen(unit) >= sizeof(unit))
		abort();
	if (cgroup_container(path, &cc) != (cc.rt != RT_NONE))
		abort();
	if (strlen(cc.id) > CONTAINER_NAME_MAX || strlen(cc.pod_uid) > POD_UID_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cgroup_file cf;
	struct span all, p, root = { "", 0 };
	char *buf;

	if (size < 1)
		return 0;
	/* A copy of exactly size - 1 bytes, so ASan sees any overread. */
	buf = malloc(size - 1 ? size - 1 : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	all.p = buf;
	all.n = size - 1;
	if (!cgroup_parse(buf, size - 1, &cf) &&
	    !cgroup_path(&cf, (enum cgroup_layout)(data[0] & 3), &p)) {
		if (p.p < buf || p.p + p.n > buf + size - 1)
			abort();
		root = cgroup_root_of(p);
		one_path(p, root);
	}
	one_path(all, root);
	one_path(all, all);
	free(buf);
	return 0;
}
