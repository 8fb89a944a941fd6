/*
 * --unit, --container and --pod on real processes in real cgroups.
 * Helper processes each hold a listening socket: two in a unit-named
 * cgroup, one in each of two docker containers whose ids share their
 * first 12 hex digits (names from config.v2.json in a docker root the
 * test makes), one in a containerd Kubernetes container whose pod names
 * come from CRI annotations in a containerd state dir the test makes,
 * one left where the test runs.  The oracle for units is ss -tanp plus
 * `ps -o unit=`; containers and pods are what the test made.  Cgroups
 * live under satestPID.slice and are removed, their processes killed by
 * PID, by an unchecked teardown.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lib/cgtest.h"
#include "lib/testlib.h"
#include "lib/runsuite.h"

#define X52(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
	c c c c c c c c c c c c c c c c c c
#define PREFIX12 "ab12cd34ef56"
#define ID_A PREFIX12 X52("a")
#define ID_B PREFIX12 X52("b")
#define ID_C X52("c") "c3c3c3c3c3c3"
#define POD_UID "7b7b7b7b-1111-2222-3333-444455556666"
#define POD_UID_ "7b7b7b7b_1111_2222_3333_444455556666"

enum helper { H_UNIT1, H_UNIT2, H_CTR_A, H_CTR_B, H_POD, H_NONE, NHELPERS };

static pid_t test_pid;
static pid_t pids[NHELPERS];
static int ports[NHELPERS];
static char unit_name[256]; /* what ps says of H_UNIT1 */
static char state_dir[64];
static char env_docker[128], env_containerd[128];
static const char *envs[3];

/* The cgroup of each helper (NULL: stays in the test's). */
static void helper_cgroup(enum helper h, char *out, size_t size)
{
	static const char *const rest[NHELPERS] = {
		[H_UNIT1] = "/satest-sel.service",
		[H_UNIT2] = "/satest-sel.service/worker",
		[H_CTR_A] = "/docker-" ID_A ".scope",
		[H_CTR_B] = "/docker-" ID_B ".scope",
		[H_POD] = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
			  POD_UID_ ".slice/cri-containerd-" ID_C ".scope",
	};

	out[0] = '\0';
	if (rest[h])
		snprintf(out, size, "/satest%d.slice%s", (int)test_pid, rest[h]);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s", dir);
	ck_assert_int_eq(cgtest_mkdir_p(path), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* The runtimes' state: docker names, containerd's CRI annotations. */
static void write_state(void)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/docker/containers/%s", state_dir, ID_A);
	write_file(dir, "config.v2.json", "{\"Name\": \"/satest-web\"}");
	snprintf(dir, sizeof(dir), "%s/docker/containers/%s", state_dir, ID_B);
	write_file(dir, "config.v2.json", "{\"Name\": \"/satest-db\"}");
	snprintf(dir, sizeof(dir), "%s/containerd/k8s.io/%s", state_dir, ID_C);
	write_file(dir, "config.json",
		   "{\"annotations\": {"
		   "\"io.kubernetes.cri.container-type\": \"container\","
		   "\"io.kubernetes.cri.sandbox-namespace\": \"satest-ns\","
		   "\"io.kubernetes.cri.sandbox-name\": \"api-1\","
		   "\"io.kubernetes.cri.sandbox-uid\": \"" POD_UID "\","
		   "\"io.kubernetes.cri.container-name\": \"server\"}}");
	snprintf(env_docker, sizeof(env_docker), "SOCKAUDIT_DOCKER_ROOT=%s/docker",
		 state_dir);
	snprintf(env_containerd, sizeof(env_containerd),
		 "SOCKAUDIT_CONTAINERD_STATE=%s/containerd", state_dir);
	envs[0] = env_docker;
	envs[1] = env_containerd;
	envs[2] = NULL;
}

/* `ps -o unit= -p PID`, "-" when none. */
static void ps_unit(pid_t pid, char unit[256])
{
	char pidarg[24];
	const char *argv[] = { "ps", "-o", "unit=", "-p", pidarg, NULL };
	struct run_result r;

	snprintf(pidarg, sizeof(pidarg), "%d", (int)pid);
	unit[0] = '\0';
	if (run_cmd(argv, NULL, 10000, &r) == 0 && r.status == 0)
		sscanf(r.out, "%255s", unit);
	run_result_free(&r);
}

static void setup(void)
{
	char rel[PATH_MAX];
	size_t h;
	int rc;

	if (!cgtest_usable())
		return;
	snprintf(state_dir, sizeof(state_dir), "/tmp/sockaudit-wlsel-%d", (int)test_pid);
	write_state();
	for (h = 0; h < NHELPERS; h++) {
		pids[h] = cgtest_listener(&ports[h]);
		helper_cgroup(h, rel, sizeof(rel));
		if (!rel[0])
			continue;
		rc = cgtest_place(rel, pids[h]);
		ck_assert_msg(rc == 0, "moving %d into %s: %s", (int)pids[h], rel,
			      strerror(-rc));
	}
	ps_unit(pids[H_UNIT1], unit_name);
	ck_assert_msg(!strcmp(unit_name, "satest-sel.service"), "ps says unit %s",
		      unit_name);
}

static void teardown(void)
{
	char rel[64], cmd[128];
	size_t h;

	for (h = 0; h < NHELPERS; h++)
		if (pids[h] > 0) {
			kill(pids[h], SIGKILL);
			waitpid(pids[h], NULL, 0);
			pids[h] = 0;
		}
	snprintf(rel, sizeof(rel), "/satest%d.slice", (int)test_pid);
	cgtest_remove(rel);
	if (state_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "test_wlselect: '%s' failed\n", cmd);
	}
}

#define NEED_CGROUPS()                                                         \
	do {                                                                   \
		if (!cgtest_usable()) {                                        \
			fprintf(stderr, "test_wlselect: skipped (needs root and " \
				"a cgroup2 mount)\n");                          \
			return;                                                \
		}                                                              \
	} while (0)

/* Run sockaudit -f json with args; the local ports of the selected
 * sockets as a bit set over the helpers (bit h: ports[h] selected),
 * and how many sockets in all. */
static unsigned selected_helpers(const char *const *args, int *nsockets)
{
	const char *argv[16] = { "-f", "json" };
	struct run_result r;
	const cJSON *s;
	unsigned got = 0;
	cJSON *doc;
	size_t i, n = 2, h;

	for (i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	run_sockaudit_v(&r, envs, argv);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	doc = json_report(&r);
	*nsockets = 0;
	cJSON_ArrayForEach(s, json_array(doc, "sockets")) {
		(*nsockets)++;
		for (h = 0; h < NHELPERS; h++)
			if (json_int(s, "local_port") == ports[h])
				got |= 1u << h;
	}
	cJSON_Delete(doc);
	run_result_free(&r);
	return got;
}

static void expect(const char *const *args, unsigned want, int want_n)
{
	int n;
	unsigned got = selected_helpers(args, &n);

	ck_assert_msg(got == want && n == want_n,
		      "%s %s: helpers %#x (%d sockets), want %#x (%d)", args[0],
		      args[1], got, n, want, want_n);
}

static bool pid_in_unit(pid_t pid, const char *unit)
{
	char u[256];

	ps_unit(pid, u);
	return !strcmp(u, unit);
}

/* The socket inodes PID holds (/proc/PID/fd), appended to v[*n]. */
static void fd_sockets(pid_t pid, unsigned long *v, int *n, int max)
{
	char cmd[96];
	struct run_result r;
	const char *argv[] = { "sh", "-c", cmd, NULL };
	char *line, *save = NULL;

	snprintf(cmd, sizeof(cmd), "readlink /proc/%d/fd/* 2>/dev/null", (int)pid);
	ck_assert_int_eq(run_cmd(argv, NULL, 10000, &r), 0);
	for (line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (*n < max && sscanf(line, "socket:[%lu]", &v[*n]) == 1)
			(*n)++;
	run_result_free(&r);
}

/*
 * --unit selects exactly the sockets of the unit's processes.  The
 * oracle: the processes the kernel lists in the unit's cgroups
 * (cgroup.procs, below), each confirmed by `ps -o unit=`, and the socket
 * inodes their /proc/PID/fd name.  (Not ss -p: on a busy host it reads
 * every process's descriptors and may time out.)
 */
START_TEST(test_unit)
{
	const char *args[] = { "--unit", unit_name, NULL, NULL, NULL };
	unsigned long want[64];
	int nwant = 0, got = 0, i;
	struct run_result r;
	char pidarg[24], cmd[PATH_MAX * 2];
	const char *sh[] = { "sh", "-c", cmd, NULL };
	const cJSON *s;
	char *line, *save = NULL;
	cJSON *doc;

	NEED_CGROUPS();
	snprintf(cmd, sizeof(cmd), "cat $(find '%s/satest%d.slice/satest-sel.service' "
		 "-name cgroup.procs)", cgtest_hier[0], (int)test_pid);
	ck_assert_int_eq(run_cmd(sh, NULL, 10000, &r), 0);
	for (line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		pid_t pid = (pid_t)atoi(line);

		ck_assert_msg(pid_in_unit(pid, unit_name), "ps: %d not in %s", (int)pid,
			      unit_name);
		fd_sockets(pid, want, &nwant, 64);
	}
	run_result_free(&r);
	ck_assert_int_eq(nwant, 2); /* the two helpers' listeners */

	run_sockaudit(&r, envs, "-f", "json", "--unit", unit_name, NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	doc = json_report(&r);
	for (i = 0; i < nwant; i++)
		ck_assert_msg(json_socket_by_inode(doc, want[i]) != NULL,
			      "socket %lu of the unit not selected", want[i]);
	cJSON_ArrayForEach(s, json_array(doc, "sockets")) {
		const cJSON *p;
		bool in = false;

		got++;
		cJSON_ArrayForEach(p, json_array(s, "processes"))
			in |= pid_in_unit((pid_t)json_int(p, "pid"), unit_name);
		ck_assert_msg(in, "socket on port %lld not held in the unit",
			      json_int(s, "local_port"));
	}
	ck_assert_int_eq(got, nwant);
	cJSON_Delete(doc);
	run_result_free(&r);

	/* With --pid: both must match. */
	snprintf(pidarg, sizeof(pidarg), "%d", (int)pids[H_UNIT2]);
	args[2] = "--pid";
	args[3] = pidarg;
	expect(args, 1u << H_UNIT2, 1);
	snprintf(pidarg, sizeof(pidarg), "%d", (int)pids[H_NONE]);
	expect(args, 0, 0);
}
END_TEST

START_TEST(test_container)
{
	const char *full[] = { "--container", ID_A, NULL };
	const char *prefix13[] = { "--container", PREFIX12 "b", NULL };
	const char *name[] = { "--container", "satest-web", NULL };
	const char *both[] = { "--container", "satest-web,satest-db", NULL };
	const char *pod_ctr[] = { "--container", "server", NULL };
	struct run_result r;

	NEED_CGROUPS();
	expect(full, 1u << H_CTR_A, 1);
	expect(prefix13, 1u << H_CTR_B, 1);
	expect(name, 1u << H_CTR_A, 1);
	expect(both, 1u << H_CTR_A | 1u << H_CTR_B, 2);
	expect(pod_ctr, 1u << H_POD, 1);

	/* Like docker: a prefix of two ids is an error. */
	run_sockaudit(&r, envs, "-f", "json", "--container", PREFIX12, NULL);
	ck_assert_msg(r.status == 2 && r.out_len == 0 && count_lines(r.err) == 1 &&
		      strstr(r.err, "sockaudit: --container '" PREFIX12 "': ambiguous"),
		      "%s", run_describe(&r));
	run_result_free(&r);
}
END_TEST

START_TEST(test_pod)
{
	const char *full[] = { "--pod", "satest-ns/api-1", NULL };
	const char *name[] = { "--pod", "api-1", NULL };
	const char *other_ns[] = { "--pod", "default/api-1", NULL };
	const char *and_ctr[] = { "--pod", "api-1", "--container", "satest-web", NULL };

	NEED_CGROUPS();
	expect(full, 1u << H_POD, 1);
	expect(name, 1u << H_POD, 1);
	expect(other_ns, 0, 0);
	expect(and_ctr, 0, 0);
}
END_TEST

/* A name no workload has selects nothing: exit 0, --max 0 holds. */
START_TEST(test_unknown)
{
	static const char *const kinds[][2] = {
		{ "--unit", "satest-none.service" },
		{ "--container", "satest-none" },
		{ "--container", "0123456789ab0123" },
		{ "--pod", "satest-ns/none" },
	};
	struct run_result r;
	size_t i;

	NEED_CGROUPS();
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		run_sockaudit(&r, envs, "-f", "json", kinds[i][0], kinds[i][1],
			      "--max", "0", NULL);
		ck_assert_msg(r.status == 0 && r.err_len == 0, "%s %s: %s", kinds[i][0],
			      kinds[i][1], run_describe(&r));
		{
			cJSON *doc = json_report(&r);

			ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 0);
			cJSON_Delete(doc);
		}
		run_result_free(&r);
	}
}
END_TEST

/* The helpers' ports, for --port: only their sockets. */
static void helper_ports(char *buf, size_t size)
{
	size_t h;

	buf[0] = '\0';
	for (h = 0; h < NHELPERS; h++)
		snprintf(buf + strlen(buf), size - strlen(buf), "%s%d", h ? "," : "",
			 ports[h]);
}

static cJSON *group_by_json(const char *by)
{
	char plist[NHELPERS * 8];
	struct run_result r;
	cJSON *doc;

	helper_ports(plist, sizeof(plist));
	run_sockaudit(&r, envs, "-f", "json", "--group-by", by, "--port", plist, NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	doc = json_report(&r);
	run_result_free(&r);
	return doc;
}

/* The group whose key field `field` (a string, or inside an object when
 * sub is given) is want; want NULL: the null group. */
static const cJSON *group_with(const cJSON *doc, const char *field, const char *sub,
			       const char *want)
{
	const cJSON *g;

	cJSON_ArrayForEach(g, json_array(doc, "groups")) {
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(g, field);

		if (!k)
			continue;
		if (!want && cJSON_IsNull(k))
			return g;
		if (want && sub && cJSON_IsObject(k))
			k = cJSON_GetObjectItemCaseSensitive(k, sub);
		if (want && cJSON_IsString(k) && !strcmp(k->valuestring, want))
			return g;
	}
	return NULL;
}

/* The helpers among a group's processes, as bits. */
static unsigned group_helpers(const cJSON *g)
{
	const cJSON *p;
	unsigned got = 0;
	size_t h;

	cJSON_ArrayForEach(p, json_array(g, "processes"))
		for (h = 0; h < NHELPERS; h++)
			if (json_int(p, "pid") == pids[h])
				got |= 1u << h;
	return got;
}

static void check_group(const cJSON *doc, const char *field, const char *sub,
			const char *want, unsigned helpers, const char *side)
{
	const cJSON *g = group_with(doc, field, sub, want);

	ck_assert_msg(g != NULL, "no %s group %s", field, want ? want : "null");
	ck_assert_str_eq(json_str(g, "side"), side);
	ck_assert_msg(group_helpers(g) == helpers, "%s %s: helpers %#x, want %#x",
		      field, want ? want : "null", group_helpers(g), helpers);
	ck_assert_int_eq(json_int(g, "sockets"), __builtin_popcount(helpers));
}

/* One group per unit, container, pod or process, in JSON; sockets
 * whose holders have none in one null group. */
START_TEST(test_group_by_json)
{
	unsigned unit = 1u << H_UNIT1 | 1u << H_UNIT2;
	unsigned ctrs = 1u << H_CTR_A | 1u << H_CTR_B | 1u << H_POD;
	const cJSON *g;
	cJSON *doc;
	size_t h;

	NEED_CGROUPS();
	doc = group_by_json("unit");
	check_group(doc, "unit", NULL, unit_name, unit, "unit");
	cJSON_Delete(doc);

	doc = group_by_json("container");
	check_group(doc, "container", "id", ID_A, 1u << H_CTR_A, "container");
	check_group(doc, "container", "name", "satest-db", 1u << H_CTR_B, "container");
	check_group(doc, "container", "id", ID_C, 1u << H_POD, "container");
	check_group(doc, "container", NULL, NULL, ~ctrs & ((1u << NHELPERS) - 1),
		    "container");
	g = group_with(doc, "container", "id", ID_A);
	ck_assert_str_eq(json_str(json_object(g, "container"), "runtime"), "docker");
	ck_assert_str_eq(json_str(json_object(g, "container"), "name"), "satest-web");
	cJSON_Delete(doc);

	doc = group_by_json("pod");
	check_group(doc, "pod", "name", "api-1", 1u << H_POD, "pod");
	check_group(doc, "pod", NULL, NULL, ((1u << NHELPERS) - 1) & ~(1u << H_POD), "pod");
	g = group_with(doc, "pod", "name", "api-1");
	ck_assert_str_eq(json_str(json_object(g, "pod"), "namespace"), "satest-ns");
	ck_assert_str_eq(json_str(json_object(g, "pod"), "uid"), POD_UID);
	ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "groups")), 2);
	cJSON_Delete(doc);

	doc = group_by_json("process");
	ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "groups")), NHELPERS);
	for (h = 0; h < NHELPERS; h++) {
		g = json_group_process(doc, pids[h]);
		ck_assert_msg(g != NULL, "no process group for %d", (int)pids[h]);
		ck_assert_int_eq(json_int(g, "sockets"), 1);
	}
	cJSON_Delete(doc);
}
END_TEST

/* The table's GROUP column names the workload; Prometheus labels it. */
START_TEST(test_group_by_table_prom)
{
	char plist[NHELPERS * 8], want[512];
	struct run_result r;

	NEED_CGROUPS();
	helper_ports(plist, sizeof(plist));
	run_sockaudit(&r, envs, "--group-by", "pod", "--port", plist, NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	ck_assert_msg(count_lines_containing(r.out, "satest-ns/api-1  pod") == 1 &&
		      count_lines_containing(r.out, "-                pod") == 1,
		      "%s", r.out);
	run_result_free(&r);

	run_sockaudit(&r, envs, "--group-by", "container", "--port", plist, NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	ck_assert_msg(count_lines_containing(r.out, "satest-web") == 1 &&
		      count_lines_containing(r.out, "server") >= 1, "%s", r.out);
	run_result_free(&r);

	run_sockaudit(&r, envs, "-f", "prometheus", "--group-by", "pod", "--port", plist,
		      NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	ck_assert_msg(strstr(r.out, "sockaudit_sockets{side=\"pod\",namespace=\"satest-ns\","
			     "pod=\"api-1\",state=\"listen\"} 1\n") &&
		      strstr(r.out, "sockaudit_sockets{side=\"pod\",state=\"listen\"} 5\n"),
		      "%s", r.out);
	run_result_free(&r);

	run_sockaudit(&r, envs, "-f", "prometheus", "--group-by", "container", "--port",
		      plist, NULL);
	snprintf(want, sizeof(want), "sockaudit_sockets{side=\"container\",container_id=\"%s\","
		 "container=\"satest-web\",state=\"listen\"} 1\n", ID_A);
	ck_assert_msg(r.status == 0 && strstr(r.out, want), "%s", run_describe(&r));
	run_result_free(&r);

	run_sockaudit(&r, envs, "-f", "prometheus", "--group-by", "unit", "--port", plist,
		      NULL);
	snprintf(want, sizeof(want), "sockaudit_sockets{side=\"unit\",unit=\"%s\","
		 "state=\"listen\"} 2\n", unit_name);
	ck_assert_msg(r.status == 0 && strstr(r.out, want), "%s", run_describe(&r));
	run_result_free(&r);
}
END_TEST

/* A process that opens a listening socket every 100 ms and keeps it. */
static pid_t start_leaker(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (int i = 0; i < 2000; i++) {
			int s = socket(AF_INET, SOCK_STREAM, 0);
			struct sockaddr_in a = { .sin_family = AF_INET };

			a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 1))
				_exit(1);
			usleep(100000);
		}
		pause();
		_exit(0);
	}
	return pid;
}

/* --watch: growth per workload group; the leaking unit is the one
 * --max-growth names. */
START_TEST(test_group_by_watch)
{
	char rel[PATH_MAX];
	struct run_result r;
	pid_t leaker;
	int rc;

	NEED_CGROUPS();
	leaker = start_leaker();
	snprintf(rel, sizeof(rel), "/satest%d.slice/satest-leak.service", (int)test_pid);
	rc = cgtest_place(rel, leaker);
	ck_assert_msg(rc == 0, "moving the leaker: %s", strerror(-rc));
	run_sockaudit(&r, envs, "--group-by", "unit", "--unit",
		      "satest-leak.service,satest-sel.service", "--watch", "500ms",
		      "--count", "5", "--max-growth", "10", NULL);
	kill(leaker, SIGKILL);
	waitpid(leaker, NULL, 0);
	ck_assert_msg(r.status == 1 && strstr(r.err, "group satest-leak.service (unit) grows"),
		      "%s", run_describe(&r));
	ck_assert_msg(strstr(r.out, "LEAKING") != NULL, "%s", r.out);
	run_result_free(&r);
}
END_TEST

static Suite *wlselect_suite(void)
{
	Suite *s = suite_create("wlselect");
	TCase *tc = tcase_create("real");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_unit);
	tcase_add_test(tc, test_container);
	tcase_add_test(tc, test_pod);
	tcase_add_test(tc, test_unknown);
	tcase_add_test(tc, test_group_by_json);
	tcase_add_test(tc, test_group_by_table_prom);
	tcase_add_test(tc, test_group_by_watch);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int failed;

	test_pid = getpid();
	cgtest_find();
	failed = run_suite(wlselect_suite());
	teardown();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
