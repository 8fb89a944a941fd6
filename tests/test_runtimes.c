/*
 * Workloads of containers run by a real runtime: runc (Debian package
 * runc), with a root filesystem of busybox-static made here (no image
 * registry).  Two containers, each a busybox httpd listening in its own
 * network namespace: one whose bundle carries the annotations CRI-O
 * writes (io.kubernetes.pod.*), one with none.  runc keeps its state
 * under a directory of the test's (runc --root), given to sockaudit as
 * SOCKAUDIT_RUNC_STATE.  sockaudit --pid must name each container's id,
 * runtime runc, its name and pod.  Skipped, saying what to install,
 * when runc or busybox is missing or not run as root; containers are
 * deleted by id in an unchecked teardown, failed or not.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lib/ctrtest.h"
#include "lib/testlib.h"

#define ID(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define POD_ID ID("5e")
#define BARE_ID ID("6f")
#define POD_UID "9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff"

static char work[] = "/tmp/sockaudit-runc-XXXXXX";
static bool have_work;

static bool on_path(const char *cmd)
{
	char sh[256];

	snprintf(sh, sizeof(sh), "command -v %s >/dev/null 2>&1", cmd);
	return system(sh) == 0;
}

/* Run a shell command line; the test fails when it does not exit 0. */
static void sh(const char *cmd)
{
	int rc = system(cmd);

	ck_assert_msg(rc == 0, "'%s' exited %d", cmd, rc);
}

static void teardown(void)
{
	char cmd[PATH_MAX * 2];

	if (!have_work)
		return;
	snprintf(cmd, sizeof(cmd),
		 "runc --root %s/state delete -f %s >/dev/null 2>&1; "
		 "runc --root %s/state delete -f %s >/dev/null 2>&1; rm -rf %s",
		 work, POD_ID, work, BARE_ID, work);
	if (system(cmd) != 0)
		fprintf(stderr, "test_runtimes: cleaning %s failed\n", work);
}

/*
 * A bundle under WORK/NAME: busybox-static as the root filesystem, the
 * spec runc writes with busybox httpd on port 8080 as the process, and
 * `annotations` (a JSON object) added.
 */
static void make_bundle(const char *name, const char *annotations)
{
	char cmd[PATH_MAX * 3];

	snprintf(cmd, sizeof(cmd),
		 "set -e; b=%s/%s; mkdir -p $b/rootfs/bin; "
		 "cp \"$(command -v busybox)\" $b/rootfs/bin/busybox; cd $b; runc spec; "
		 "jq '.process.terminal=false | .root.readonly=true | "
		 ".process.args=[\"/bin/busybox\",\"httpd\",\"-f\",\"-p\",\"8080\"] | "
		 ".annotations=%s' config.json > c && mv c config.json",
		 work, name, annotations);
	sh(cmd);
}

static void run_container(const char *name, const char *id)
{
	char cmd[PATH_MAX * 2];

	snprintf(cmd, sizeof(cmd), "cd %s/%s && timeout 30 runc --root %s/state run -d %s "
		 ">%s/%s.log 2>&1", work, name, work, id, work, name);
	sh(cmd);
}

/* The PID of container id, from `runc state`. */
static pid_t container_pid(const char *id)
{
	char cmd[PATH_MAX];
	FILE *p;
	int pid = 0;

	snprintf(cmd, sizeof(cmd), "runc --root %s/state state %s | jq .pid", work, id);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(fscanf(p, "%d", &pid), 1);
	pclose(p);
	ck_assert_int_gt(pid, 0);
	return pid;
}

static void str_is(const cJSON *o, const char *key, const char *want)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!want)
		ck_assert_msg(cJSON_IsNull(v), "%s: not null", key);
	else
		ck_assert_msg(cJSON_IsString(v) && !strcmp(v->valuestring, want),
			      "%s: %s, want %s", key,
			      cJSON_IsString(v) ? v->valuestring : "not a string", want);
}

/* The workload sockaudit --pid gives the container's process. */
static cJSON *audit_pid(pid_t pid, cJSON **doc)
{
	char pidarg[24], env[PATH_MAX + 32];
	const char *envs[] = { env, NULL };
	struct run_result r;
	const cJSON *p;

	snprintf(pidarg, sizeof(pidarg), "%d", (int)pid);
	snprintf(env, sizeof(env), "SOCKAUDIT_RUNC_STATE=%s/state", work);
	run_sockaudit(&r, envs, "-f", "json", "--pid", pidarg, NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	*doc = json_report(&r);
	run_result_free(&r);
	cJSON_ArrayForEach(p, json_array(*doc, "processes"))
		if (json_int(p, "pid") == pid)
			return (cJSON *)p;
	ck_abort_msg("process %d not in the report", (int)pid);
	return NULL;
}

START_TEST(test_runc_containers)
{
	const cJSON *c, *pod;
	cJSON *doc, *p;
	pid_t pid;

	if (geteuid() != 0 || !on_path("runc") || !on_path("busybox") || !on_path("jq")) {
		fprintf(stderr, "test_runtimes: skipped: needs root and "
				"'apt-get install runc busybox-static jq'\n");
		return;
	}
	ck_assert_ptr_nonnull(mkdtemp(work));
	have_work = true;
	make_bundle("pod", "{\"io.kubernetes.pod.namespace\":\"shop\","
			   "\"io.kubernetes.pod.name\":\"cart-7f9c\","
			   "\"io.kubernetes.pod.uid\":\"" POD_UID "\","
			   "\"io.kubernetes.container.name\":\"cart\"}");
	make_bundle("bare", "{}");
	run_container("pod", POD_ID);
	run_container("bare", BARE_ID);

	/* CRI-O-style annotations, read back from runc's state labels. */
	pid = container_pid(POD_ID);
	p = audit_pid(pid, &doc);
	ck_assert_int_eq(json_int(p, "sockets"), 1);
	str_is(p, "cgroup", "/" POD_ID);
	c = cJSON_GetObjectItemCaseSensitive(p, "container");
	ck_assert_msg(cJSON_IsObject(c), "no container");
	str_is(c, "id", POD_ID);
	str_is(c, "runtime", "runc");
	str_is(c, "name", "cart");
	pod = cJSON_GetObjectItemCaseSensitive(p, "pod");
	ck_assert_msg(cJSON_IsObject(pod), "no pod");
	str_is(pod, "namespace", "shop");
	str_is(pod, "name", "cart-7f9c");
	str_is(pod, "uid", POD_UID);
	str_is(pod, "container", "cart");
	cJSON_Delete(doc);

	/* No annotations: runc's id is the container's name. */
	pid = container_pid(BARE_ID);
	p = audit_pid(pid, &doc);
	c = cJSON_GetObjectItemCaseSensitive(p, "container");
	ck_assert_msg(cJSON_IsObject(c), "no container");
	str_is(c, "id", BARE_ID);
	str_is(c, "runtime", "runc");
	str_is(c, "name", BARE_ID);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(p, "pod")));
	cJSON_Delete(doc);
}
END_TEST

int main(void)
{
	return ctr_run("runtimes", test_runc_containers, 120, teardown);
}
