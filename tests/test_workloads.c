/*
 * Workloads of real processes in real cgroups.  Helper processes each
 * hold a listening socket; the test creates cgroups named like a systemd
 * service, a user unit, a systemd-driver and a cgroupfs-driver
 * Kubernetes container and a docker container (systemd and cgroupfs
 * forms), in the unified hierarchy and in name=systemd when mounted,
 * moves one helper into each, and checks sockaudit's JSON against the
 * path it made, /proc/PID/cgroup and `ps -o unit=,uunit=` (procps is the
 * oracle for units).  Every cgroup lives under satestPID[.slice] and is
 * removed, its processes killed by PID, by an unchecked teardown that
 * runs even when an assertion fails.
 */
#include <check.h>
#include <stdbool.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lib/cgtest.h"
#include "lib/testlib.h"
#include "lib/runsuite.h"

#define ID(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define POD_UID "5a5a5a5a-1111-2222-3333-444455556666"
#define POD_UID_ "5a5a5a5a_1111_2222_3333_444455556666"
#define NHIER CGTEST_NHIER
#define hier cgtest_hier

static pid_t test_pid; /* names the test's cgroups */

/* Each row: a cgroup below the hierarchy root, below /satestPID.slice
 * (or /satestPID when not `slice`), and what the path names. */
static const struct place {
	bool slice;
	const char *rest;
	const char *ctr_id, *runtime, *pod_uid; /* NULL: none */
} places[] = {
	{ true, "/satest-web.service", NULL, NULL, NULL },
	{ true, "/satest-tmpl@inst.service", NULL, NULL, NULL },
	{ true, "/_satest-esc.service/sub", NULL, NULL, NULL },
	{ true, "/not-a-unit", NULL, NULL, NULL },
	{ true, "/user-4242.slice/session-c9.scope", NULL, NULL, NULL },
	{ true, "/user-4242.slice/user@4242.service/app.slice/satest-app.service",
	  NULL, NULL, NULL },
	{ true, "/kubepods.slice/kubepods-burstable.slice/"
	  "kubepods-burstable-pod" POD_UID_ ".slice/cri-containerd-" ID("c1") ".scope",
	  ID("c1"), "containerd", POD_UID },
	{ false, "/kubepods/besteffort/pod" POD_UID "/" ID("c2"), ID("c2"), NULL,
	  POD_UID },
	{ true, "/docker-" ID("d1") ".scope", ID("d1"), "docker", NULL },
	{ false, "/docker/" ID("d2"), ID("d2"), "docker", NULL },
};
#define NPLACES (sizeof(places) / sizeof(places[0]))


static void place_path(size_t i, char *out, size_t size)
{
	snprintf(out, size, "/satest%d%s%s", (int)test_pid,
		 places[i].slice ? ".slice" : "", places[i].rest);
}




/* The docker data root test_bad_state_warns_once makes. */
static void docker_root(char *out, size_t size)
{
	snprintf(out, size, "/tmp/sockaudit-docker-%d", (int)test_pid);
}

static void teardown(void)
{
	char cmd[96];
	size_t h;

	snprintf(cmd, sizeof(cmd), "rm -rf ");
	docker_root(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd));
	if (system(cmd) != 0)
		fprintf(stderr, "test_workloads: '%s' failed\n", cmd);

	for (h = 0; h < NHIER; h++) {
		char *dir;

		if (!hier[h][0])
			continue;
		if (asprintf(&dir, "%s/satest%d.slice", hier[h], (int)test_pid) > 0) {
			if (cgtest_remove_tree(dir))
				fprintf(stderr, "test_workloads: could not remove %s\n", dir);
			free(dir);
		}
		if (asprintf(&dir, "%s/satest%d", hier[h], (int)test_pid) > 0) {
			if (cgtest_remove_tree(dir))
				fprintf(stderr, "test_workloads: could not remove %s\n", dir);
			free(dir);
		}
	}
}


/* `ps -o unit=,uunit= -p PID`: the two words, "-" as NULL. */
static void ps_units(pid_t pid, char unit[256], char uunit[256])
{
	char pidarg[24];
	const char *argv[] = { "ps", "-o", "unit=,uunit=", "-p", pidarg, NULL };
	struct run_result r;

	snprintf(pidarg, sizeof(pidarg), "%d", (int)pid);
	ck_assert_int_eq(run_cmd(argv, NULL, 10000, &r), 0);
	ck_assert_msg(r.status == 0 && sscanf(r.out, "%255s %255s", unit, uunit) == 2,
		      "ps: %s", run_describe(&r));
	run_result_free(&r);
}

/* The 0:: line of /proc/PID/cgroup. */
static void proc_unified(pid_t pid, char *out, size_t size)
{
	char path[64], line[PATH_MAX];
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(out, size, "%.4000s", line + 3);
		}
	fclose(f);
}

static void str_or_null(const cJSON *o, const char *key, const char *want,
			const char *what)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	ck_assert_msg(v != NULL, "%s: no key %s", what, key);
	if (!want)
		ck_assert_msg(cJSON_IsNull(v), "%s: %s is %s, want null", what, key,
			      cJSON_IsString(v) ? v->valuestring : "?");
	else
		ck_assert_msg(cJSON_IsString(v) && !strcmp(v->valuestring, want),
			      "%s: %s is %s, want %s", what, key,
			      cJSON_IsString(v) ? v->valuestring : "not a string", want);
}

static const cJSON *json_process(const cJSON *doc, pid_t pid)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, json_array(doc, "processes"))
		if (json_int(p, "pid") == pid)
			return p;
	return NULL;
}

START_TEST(test_real_cgroups)
{
	pid_t pids[NPLACES];
	char pidlist[NPLACES * 12] = "";
	struct run_result r;
	cJSON *doc;
	size_t i, h;

	if (geteuid() != 0 || !hier[0][0]) {
		fprintf(stderr, "test_workloads: skipped (needs root and a cgroup2 mount)\n");
		return;
	}
	for (i = 0; i < NPLACES; i++) {
		int port;

		pids[i] = cgtest_listener(&port);
		snprintf(pidlist + strlen(pidlist), sizeof(pidlist) - strlen(pidlist),
			 "%s%d", i ? "," : "", (int)pids[i]);
		for (h = 0; h < NHIER; h++) {
			char rel[PATH_MAX], *dir;
			int rc;

			if (!hier[h][0])
				continue;
			place_path(i, rel, sizeof(rel));
			ck_assert_int_gt(asprintf(&dir, "%s%s", hier[h], rel), 0);
			rc = cgtest_mkdir_p(dir);
			ck_assert_msg(rc == 0, "mkdir %s: %s", dir, strerror(-rc));
			rc = cgtest_write_pid(dir, pids[i]);
			ck_assert_msg(rc == 0, "moving %d into %s: %s", (int)pids[i], dir,
				      strerror(-rc));
			free(dir);
		}
	}
	run_sockaudit(&r, NULL, "-f", "json", "--pid", pidlist, NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	doc = json_report(&r);
	for (i = 0; i < NPLACES; i++) {
		const struct place *pl = &places[i];
		const cJSON *p = json_process(doc, pids[i]);
		const cJSON *c, *pod;
		char rel[PATH_MAX], unified[PATH_MAX], unit[256], uunit[256];

		place_path(i, rel, sizeof(rel));
		ck_assert_msg(p != NULL, "no process %d in the report", (int)pids[i]);
		/* The path made, which is also the kernel's 0:: line. */
		proc_unified(pids[i], unified, sizeof(unified));
		ck_assert_str_eq(unified, rel);
		str_or_null(p, "cgroup", rel, rel);
		ps_units(pids[i], unit, uunit);
		str_or_null(p, "unit", strcmp(unit, "-") ? unit : NULL, rel);
		str_or_null(p, "user_unit", strcmp(uunit, "-") ? uunit : NULL, rel);
		c = cJSON_GetObjectItemCaseSensitive(p, "container");
		pod = cJSON_GetObjectItemCaseSensitive(p, "pod");
		if (!pl->ctr_id) {
			ck_assert_msg(cJSON_IsNull(c), "%s: a container", rel);
		} else {
			ck_assert_msg(cJSON_IsObject(c), "%s: no container", rel);
			str_or_null(c, "id", pl->ctr_id, rel);
			str_or_null(c, "runtime", pl->runtime, rel);
		}
		if (!pl->pod_uid) {
			ck_assert_msg(cJSON_IsNull(pod), "%s: a pod", rel);
		} else {
			ck_assert_msg(cJSON_IsObject(pod), "%s: no pod", rel);
			str_or_null(pod, "uid", pl->pod_uid, rel);
		}
		fprintf(stderr, "%-100.100s unit=%s uunit=%s\n", rel, unit, uunit);
	}
	cJSON_Delete(doc);
	run_result_free(&r);
	for (i = 0; i < NPLACES; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
}
END_TEST

/* Opens of a /proc/N/cgroup file in an strace -e openat log. */
static int cgroup_opens(const char *log)
{
	char line[PATH_MAX + 256];
	int n = 0;
	FILE *f = fopen(log, "r");

	ck_assert_msg(f != NULL, "%s: %s", log, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "openat(") && strstr(line, "/cgroup\""))
			n++;
	fclose(f);
	return n;
}

/*
 * Twelve processes in two cgroups, audited with --source bpf under
 * strace: the workload of each is what /proc/PID/cgroup and ps say, and
 * /proc/PID/cgroup is opened once per cgroup (plus PID 1's, for the
 * root), not once per process: the BPF source tells which processes are
 * in the same cgroups.  The netlink source, which cannot tell, opens
 * one per process (the count the test would see without the sharing).
 */
START_TEST(test_cgroup_read_once)
{
	enum { PER = 6, NCG = 2 };
	static const char *const units[NCG] = { "/satest-a.service", "/satest-b.service" };
	const char *sources[] = { "bpf", "netlink" };
	pid_t pids[NCG * PER];
	char pidlist[NCG * PER * 12] = "", log[64], asan[512];
	const char *old_asan = getenv("ASAN_OPTIONS");
	const char *const env[] = { asan, NULL };
	size_t i, h, s;

	if (geteuid() != 0 || !hier[0][0]) {
		fprintf(stderr, "test_workloads: skipped (needs root and a cgroup2 mount)\n");
		return;
	}
	for (i = 0; i < NCG * PER; i++) {
		int port;

		pids[i] = cgtest_listener(&port);
		snprintf(pidlist + strlen(pidlist), sizeof(pidlist) - strlen(pidlist),
			 "%s%d", i ? "," : "", (int)pids[i]);
		for (h = 0; h < NHIER; h++) {
			char *dir;
			int rc;

			if (!hier[h][0])
				continue;
			ck_assert_int_gt(asprintf(&dir, "%s/satest%d.slice%s", hier[h],
						  (int)test_pid, units[i / PER]), 0);
			rc = cgtest_mkdir_p(dir);
			ck_assert_msg(rc == 0, "mkdir %s: %s", dir, strerror(-rc));
			rc = cgtest_write_pid(dir, pids[i]);
			ck_assert_msg(rc == 0, "moving %d into %s: %s", (int)pids[i], dir,
				      strerror(-rc));
			free(dir);
		}
	}
	snprintf(log, sizeof(log), "/tmp/satest-strace-%d.log", (int)getpid());
	/* LeakSanitizer cannot run under ptrace: an ASan binary checks its
	 * leaks in the other tests, not under strace. */
	snprintf(asan, sizeof(asan), "ASAN_OPTIONS=%s%sdetect_leaks=0",
		 old_asan ? old_asan : "", old_asan && *old_asan ? ":" : "");
	for (s = 0; s < 2; s++) {
		const char *argv[] = { "strace", "-f", "-qq", "-e", "trace=openat",
				       "-o", log, sockaudit_path(), "-f", "json",
				       "--source", sources[s], "--pid", pidlist, NULL };
		struct run_result r;
		cJSON *doc;
		int opens;

		ck_assert_int_eq(run_cmd(argv, env, 120000, &r), 0);
		if (s == 0 && r.status == 3) {
			fprintf(stderr, "test_workloads: --source bpf unusable here: %s",
				r.err);
			run_result_free(&r);
			continue;
		}
		ck_assert_msg(r.status == 0, "%s", run_describe(&r));
		doc = json_report(&r);
		for (i = 0; i < NCG * PER; i++) {
			const cJSON *p = json_process(doc, pids[i]);
			char unified[PATH_MAX], unit[256], uunit[256];

			ck_assert_msg(p != NULL, "no process %d in the report", (int)pids[i]);
			proc_unified(pids[i], unified, sizeof(unified));
			str_or_null(p, "cgroup", unified, sources[s]);
			ps_units(pids[i], unit, uunit);
			str_or_null(p, "unit", strcmp(unit, "-") ? unit : NULL, sources[s]);
		}
		opens = cgroup_opens(log);
		fprintf(stderr, "test_cgroup_read_once: --source %s: %d opens of "
			"/proc/N/cgroup for %d processes in %d cgroups\n",
			sources[s], opens, NCG * PER, NCG);
		if (s == 0)
			ck_assert_msg(opens <= 1 + NCG, "--source bpf opened /proc/N/cgroup "
				      "%d times, want at most %d", opens, 1 + NCG);
		else
			ck_assert_int_ge(opens, NCG * PER);
		cJSON_Delete(doc);
		run_result_free(&r);
	}
	unlink(log);
	for (i = 0; i < NCG * PER; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
}
END_TEST

/* Whatever /proc/self/cgroup and ps say of this test process, the JSON
 * says too (the host's own layout and units, not ones the test made). */
START_TEST(test_own_cgroup)
{
	char pidarg[24], unit[256], uunit[256];
	struct run_result r;
	int port;
	pid_t pid = cgtest_listener(&port);
	const cJSON *p;
	cJSON *doc;

	snprintf(pidarg, sizeof(pidarg), "%d", (int)pid);
	run_sockaudit(&r, NULL, "-f", "json", "--pid", pidarg, NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	doc = json_report(&r);
	p = json_process(doc, pid);
	ck_assert_ptr_nonnull(p);
	ps_units(pid, unit, uunit);
	str_or_null(p, "unit", strcmp(unit, "-") ? unit : NULL, "own");
	str_or_null(p, "user_unit", strcmp(uunit, "-") ? uunit : NULL, "own");
	cJSON_Delete(doc);
	run_result_free(&r);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
END_TEST

/*
 * A docker container whose config.v2.json is malformed: the container
 * is still named by its cgroup (id, runtime), its name is null, the
 * audit succeeds, and one warning line says a state file was not
 * readable.  The state directory is the test's (SOCKAUDIT_DOCKER_ROOT).
 */
START_TEST(test_bad_state_warns_once)
{
	static const char id[] = ID("e7");
	char tmpl[64], pidarg[24], rel[PATH_MAX];
	char *dir, *env, *file;
	const char *envs[2];
	struct run_result r;
	const cJSON *p, *c;
	cJSON *doc;
	FILE *f;
	int port, rc;
	pid_t pid;

	if (geteuid() != 0 || !hier[0][0]) {
		fprintf(stderr, "test_workloads: skipped (needs root and a cgroup2 mount)\n");
		return;
	}
	docker_root(tmpl, sizeof(tmpl));
	ck_assert_int_gt(asprintf(&file, "%s/containers/%s", tmpl, id), 0);
	ck_assert_int_eq(cgtest_mkdir_p(file), 0);
	free(file);
	ck_assert_int_gt(asprintf(&file, "%s/containers/%s/config.v2.json", tmpl, id), 0);
	f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"Name\": \"/web", f); /* cut short */
	ck_assert_int_eq(fclose(f), 0);
	free(file);
	pid = cgtest_listener(&port);
	snprintf(rel, sizeof(rel), "/satest%d.slice/docker-%s.scope", (int)test_pid, id);
	ck_assert_int_gt(asprintf(&dir, "%s%s", hier[0], rel), 0);
	ck_assert_int_eq(cgtest_mkdir_p(dir), 0);
	rc = cgtest_write_pid(dir, pid);
	ck_assert_msg(rc == 0, "moving into %s: %s", dir, strerror(-rc));
	free(dir);
	ck_assert_int_gt(asprintf(&env, "SOCKAUDIT_DOCKER_ROOT=%s", tmpl), 0);
	envs[0] = env;
	envs[1] = NULL;
	snprintf(pidarg, sizeof(pidarg), "%d", (int)pid);
	run_sockaudit(&r, envs, "-f", "json", "--pid", pidarg, NULL);
	free(env);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	ck_assert_msg(count_lines(r.err) == 1 &&
		      strstr(r.err, "sockaudit: 1 container runtime state file not readable"),
		      "stderr: %s", r.err);
	doc = json_report(&r);
	p = json_process(doc, pid);
	ck_assert_ptr_nonnull(p);
	str_or_null(p, "cgroup", rel, "bad state");
	c = cJSON_GetObjectItemCaseSensitive(p, "container");
	ck_assert_msg(cJSON_IsObject(c), "no container");
	str_or_null(c, "id", id, "bad state");
	str_or_null(c, "runtime", "docker", "bad state");
	str_or_null(c, "name", NULL, "bad state");
	cJSON_Delete(doc);
	run_result_free(&r);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
END_TEST

static Suite *workloads_suite(void)
{
	Suite *s = suite_create("workloads");
	TCase *tc = tcase_create("real");

	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_real_cgroups);
	tcase_add_test(tc, test_own_cgroup);
	tcase_add_test(tc, test_cgroup_read_once);
	tcase_add_test(tc, test_bad_state_warns_once);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int failed;

	test_pid = getpid();
	cgtest_find();
	failed = run_suite(workloads_suite());
	teardown();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
