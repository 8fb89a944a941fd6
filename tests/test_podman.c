/*
 * Workloads of a container run by a real podman (Debian package podman,
 * with runc as its OCI runtime: crun fails on this host's hybrid cgroup
 * layout).  Everything podman keeps is the test's: storage root and run
 * root, a containers.conf (CONTAINERS_CONF) with default_ulimits within
 * the host's hard limits (podman's defaults exceed them and runc cannot
 * set them), the cgroupfs manager under a cgroup parent of the test's
 * (no systemd is PID 1 here), the file events logger.  The image is a
 * tar of busybox-static imported with `podman import` (no registry).
 * The container joins a network namespace of the test's, joined to the
 * host by a veth pair, and serves as in test_containerd: busybox httpd
 * on 8080, an `nc -ll` on 9090 whose connections a `sleep` holds, one
 * kept by the host (ESTABLISHED) and one closed (CLOSE-WAIT).
 * sockaudit, pointed at the test's storage with
 * SOCKAUDIT_CONTAINERS_STORAGE and SOCKAUDIT_CONTAINERS_RUNROOT, must
 * name the container as `podman inspect` does: id, runtime podman, name
 * (from containers.json), no pod.  Skipped, saying what to install, when
 * a tool is missing or not run as root; the container, the image,
 * mounts, cgroups and the directory go in an unchecked teardown.
 * With CTRTEST_OUTPUTS=FILE, the table output of the node-wide view and
 * of the asserted leak is appended to FILE, for the record.
 */
#include <check.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lib/ctrtest.h"
#include "lib/nstest.h"
#include "lib/testlib.h"

#define IMAGE "localhost/sockaudit-busybox:test"
#define WAIT_MS 30000

static char work[] = "/tmp/sockaudit-podman-XXXXXX";
static bool have_work;
static char name[40], netns[32], hostif[16], ip[32], cgparent[64];
static char id[80], conf[PATH_MAX + 20];
static char rootenv[PATH_MAX + 40], runrootenv[PATH_MAX + 40];
static const char *env[] = { rootenv, runrootenv, NULL };
static pid_t task_pid = -1;

/* podman with the test's storage and settings. */
#define PODMAN "podman --root %s/root --runroot %s/runroot --storage-driver overlay " \
	       "--runtime runc --cgroup-manager cgroupfs --events-backend file " \
	       "--tmpdir %s/tmp"
#define PODMAN_ARGS(w) w, w, w

/*
 * Remove the container (its conmon and mounts with it) and the image,
 * then whatever mount is left under the directory, the cgroups, the
 * namespace and the directory.  Every step is unchecked.
 */
static void teardown(void)
{
	if (!have_work)
		return;
	ctr_sh_quiet(PODMAN " rm -f -t 0 %s >/dev/null 2>&1", PODMAN_ARGS(work), name);
	ctr_sh_quiet(PODMAN " rmi -f " IMAGE " >/dev/null 2>&1", PODMAN_ARGS(work));
	if (task_pid > 0 && kill(task_pid, 0) == 0)
		kill(task_pid, SIGKILL);
	/* conmon, were the container not removed. */
	ctr_sh_quiet("p=$(cat %s/runroot/overlay-containers/*/userdata/conmon.pid "
		     "2>/dev/null) && kill -9 $p 2>/dev/null", work);
	ctr_sh_quiet("awk '$2 ~ \"^%s/\" {print $2}' /proc/self/mounts | sort -r | "
		     "while read -r m; do umount -l \"$m\"; done", work);
	if (cgparent[0] && ctr_cgroup_remove(cgparent))
		fprintf(stderr, "test_podman: cgroups under %s left\n", cgparent);
	nstest_delete_all();
	if (ctr_sh_quiet("rm -rf %s", work))
		fprintf(stderr, "test_podman: cleaning %s failed\n", work);
	have_work = false;
}

/* containers.conf, the image and the container, started. */
static void run_container(void)
{
	char rootfs[PATH_MAX];
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/containers.conf", work);
	f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[containers]\n"
		   "default_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n"
		   "[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n"
		   "events_logfile_path = \"%s/events.log\"\nruntime = \"runc\"\n",
		work);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(setenv("CONTAINERS_CONF", conf, 1), 0);
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", work);
	ctr_make_rootfs(rootfs);
	ctr_sh("tar -C %s/rootfs -cf %s/rootfs.tar . && " PODMAN " import %s/rootfs.tar "
	       IMAGE " >%s/import.log 2>&1", work, work, PODMAN_ARGS(work), work, work);
	ctr_sh_line(id, sizeof(id),
		    PODMAN " run -d --name %s --cgroup-parent %s --network ns:/run/netns/%s "
		    IMAGE " /bin/busybox sh -c '/bin/busybox httpd -p 8080 -h / && exec "
		    "/bin/busybox nc -ll -p 9090 -e /bin/busybox sleep 100000' "
		    "2>%s/run.log", PODMAN_ARGS(work), name, cgparent, netns, work);
	ck_assert_uint_eq(strlen(id), 64);
}

/* A field of `podman inspect` of the container (a Go template). */
static void inspect(char *out, size_t size, const char *tmpl)
{
	ctr_sh_line(out, size, PODMAN " inspect -f '%s' %s", PODMAN_ARGS(work), tmpl, id);
}

/* Every process of the report is the container's, as podman says. */
static void check_processes(const cJSON *doc, const char *want_name)
{
	const cJSON *p;
	int n = 0;

	cJSON_ArrayForEach(p, json_array(doc, "processes")) {
		const cJSON *c = json_object(p, "container");

		ck_assert_msg(strstr(json_str(p, "cgroup"), id), "cgroup %s",
			      json_str(p, "cgroup"));
		ctr_str_is(p, "unit", NULL);
		ctr_str_is(c, "id", id);
		ctr_str_is(c, "runtime", "podman");
		ctr_str_is(c, "name", want_name);
		ck_assert(json_is_null(p, "pod"));
		n++;
	}
	ck_assert_msg(n > 0, "no process in the report");
}

/* The container's group: its keys, and its sockets by state. */
static void check_group(const cJSON *g, const char *want_name)
{
	const cJSON *c, *states;

	ck_assert_msg(g, "no group of container %s", id);
	c = json_object(g, "container");
	ctr_str_is(c, "runtime", "podman");
	ctr_str_is(c, "name", want_name);
	states = json_object(g, "states");
	ck_assert_int_eq(json_int(states, "listen"), 2);
	ck_assert_int_eq(json_int(states, "established"), 1);
	ck_assert_int_eq(json_int(states, "close_wait"), 1);
	ck_assert_int_eq(json_int(g, "close_wait"), 1);
}

START_TEST(test_podman_container)
{
	static const char *const tools[] = { "podman", "runc", "busybox", "tar",
					     "ip", "ss" };
	char pidstr[24], want_name[64], line[PATH_MAX], prefix[13];
	const char *why = NULL;
	int held, closed, fd;
	size_t i;
	cJSON *doc;

	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (!ctr_on_path(tools[i]))
			why = tools[i];
	if (geteuid() != 0 || why || !nstest_available(&why)) {
		fprintf(stderr, "test_podman: skipped (%s): needs root and "
				"'apt-get install podman runc busybox-static iproute2'\n",
			why ? why : "not root");
		return;
	}
	ck_assert_ptr_nonnull(mkdtemp(work));
	have_work = true;
	snprintf(name, sizeof(name), "sockaudit-web-%d", (int)getpid());
	snprintf(netns, sizeof(netns), "sa-pod-%d", (int)getpid());
	snprintf(hostif, sizeof(hostif), "sapod%d", (int)getpid() % 100000);
	snprintf(ip, sizeof(ip), "10.214.%d.2", (int)getpid() % 250);
	snprintf(cgparent, sizeof(cgparent), "/sockaudit-podman-%d", (int)getpid());
	snprintf(rootenv, sizeof(rootenv), "SOCKAUDIT_CONTAINERS_STORAGE=%s/root", work);
	snprintf(runrootenv, sizeof(runrootenv), "SOCKAUDIT_CONTAINERS_RUNROOT=%s/runroot",
		 work);
	ck_assert_int_eq(ctr_netns_veth(netns, hostif, 214, (int)getpid() % 250), 0);
	run_container();

	/* podman's view: running, its PID, name and cgroup. */
	inspect(line, sizeof(line), "{{.State.Status}} {{.State.Pid}} {{.OCIRuntime}}");
	ck_assert_int_eq(sscanf(line, "running %d", &task_pid), 1);
	ck_assert_msg(strstr(line, " runc"), "inspect: %s", line);
	inspect(want_name, sizeof(want_name), "{{.Name}}");
	ck_assert_str_eq(want_name, name);

	/* The same traffic as test_containerd's. */
	fd = ctr_traffic(ip, netns, WAIT_MS, &held, &closed);

	/* Selections: each gives the container's processes and sockets. */
	snprintf(pidstr, sizeof(pidstr), "%d", (int)task_pid);
	memcpy(prefix, id, 12);
	prefix[12] = '\0';
	{
		const char *const sels[][2] = {
			{ "--pid", pidstr },	     { "--container", id },
			{ "--container", prefix }, { "--container", name },
		};

		for (i = 0; i < sizeof(sels) / sizeof(sels[0]); i++) {
			const char *args[] = { sels[i][0], sels[i][1], NULL };

			doc = ctr_audit(env, args, 0);
			check_processes(doc, want_name);
			ck_assert_msg(ctr_report_process(doc, task_pid),
				      "%s %s: no container process", args[0], args[1]);
			ck_assert(json_socket_by_ports(doc, 9090, 0));
			if (i > 0) {
				ck_assert(json_socket_by_ports(doc, 8080, 0));
				ctr_check_connections(doc, held, closed);
			}
			cJSON_Delete(doc);
		}
	}

	/* The container's group, selected and in the whole host's view;
	 * the leak asserted. */
	{
		const char *sel[] = { "--container", name, "--group-by", "container", NULL };
		const char *all[] = { "--all-netns", "--group-by", "container", NULL };
		const char *cw[] = { "--container", name, "--state", "close_wait",
				     "--max", "0", NULL };

		doc = ctr_audit(env, sel, 0);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "groups")), 1);
		check_group(ctr_group_by(doc, "container", "id", id), want_name);
		cJSON_Delete(doc);

		doc = ctr_audit(env, all, 0);
		check_group(ctr_group_by(doc, "container", "id", id), want_name);
		cJSON_Delete(doc);

		doc = ctr_audit(env, cw, 1);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 1);
		cJSON_Delete(doc);
		ctr_save_output(env, all);
		ctr_save_output(env, cw);
	}
	close(fd);
}
END_TEST

int main(void)
{
	return ctr_run("podman", test_podman_container, 300, teardown);
}
