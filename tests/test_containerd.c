/*
 * Workloads of a container run by a real containerd (Debian package
 * containerd, its ctr client, runc below it).  The test starts its own
 * containerd with its own configuration, root, state directory and
 * socket (no CRI plugin), and runs one container in namespace k8s.io as
 * the kubelet's cgroupfs driver would place it,
 * PARENT/kubepods/besteffort/pod<uid>/<id>, with the annotations
 * containerd's CRI plugin writes (io.kubernetes.cri.*).  Its root
 * filesystem is busybox-static (no image registry); it joins a network
 * namespace of the test's, joined to the host by a veth pair, and runs
 * busybox httpd on port 8080 and an `nc -ll` on 9090 whose connections
 * are held by a `sleep`: the host keeps one (ESTABLISHED) and closes the
 * other (CLOSE-WAIT in the container).  sockaudit, pointed at the
 * test's state directory with SOCKAUDIT_CONTAINERD_STATE, must name the
 * container and its pod as containerd's own state (ctr task ls, ctr
 * container info) does, for --pid, --pod, --container and --group-by.
 * Skipped, saying what to install, when a tool is missing or not run as
 * root; the container, containerd, the cgroups and the directory are
 * removed by id and PID in an unchecked teardown, failed or not.
 * With CTRTEST_OUTPUTS=FILE, the table output of the node-wide view and
 * of the asserted leak is appended to FILE, for the record.
 */
#include <check.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lib/ctrtest.h"
#include "lib/nstest.h"
#include "lib/testlib.h"

#define ID(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define POD_NS "shop"
#define NS "k8s.io"
#define WAIT_MS 30000

/* The pod's name, NAMESPACE/NAME and uid, the container's id and name, made
 * of this test's PID: runc's state under containerd
 * (/run/containerd/runc/k8s.io/ID) is shared by every containerd of the
 * host, and a node-wide view sees every run's pod: two runs of the test
 * must not collide, not even in the 12 digits of a short id. */
static char pod_name[32], pod_ref[48], pod_uid[40], ctr_id[65], ctr_name[32];

/* The annotations containerd's CRI plugin writes for a container. */
static const struct {
	const char *key, *value;
} annots[] = {
	{ "io.kubernetes.cri.container-type", "container" },
	{ "io.kubernetes.cri.container-name", ctr_name },
	{ "io.kubernetes.cri.sandbox-id", ID("d8") },
	{ "io.kubernetes.cri.sandbox-name", pod_name },
	{ "io.kubernetes.cri.sandbox-namespace", POD_NS },
	{ "io.kubernetes.cri.sandbox-uid", pod_uid },
};

static char work[] = "/tmp/sockaudit-containerd-XXXXXX";
static bool have_work;
static pid_t containerd = -1, task_pid = -1;

static char netns[32], hostif[16], ip[32], cgparent[64], stateenv[PATH_MAX + 40];
/* Where sockaudit reads the container from: containerd's task
 * config.json in the test's state directory (env), or runc's state.json
 * that containerd's runc shim keeps under its default root
 * /run/containerd/runc (runc_env). */
static const char *env[] = { stateenv, "SOCKAUDIT_CONTAINERD_RUNC=/nonexistent", NULL };
static const char *runc_env[] = { "SOCKAUDIT_CONTAINERD_STATE=/nonexistent", NULL };

/* ctr against the test's containerd, in namespace k8s.io. */
#define CTR "ctr -a %s/containerd.sock -n " NS

/*
 * Kill and delete the task (retried while its exit is being reaped),
 * remove the container, stop containerd, then the cgroups, the namespace
 * and the directory.  Every step is unchecked: whatever was made goes.
 */
static void teardown(void)
{
	if (!have_work)
		return;
	if (containerd > 0) {
		ctr_sh_quiet(CTR " task kill -s KILL %s >/dev/null 2>&1", work, ctr_id);
		if (!ctr_sh_wait(WAIT_MS, CTR " task delete %s >/dev/null 2>&1 || ! "
				 CTR " task ls -q | grep -q %s", work, ctr_id, work, ctr_id))
			fprintf(stderr, "test_containerd: task %s not deleted\n", ctr_id);
		ctr_sh_quiet(CTR " container rm %s >/dev/null 2>&1", work, ctr_id);
		ctr_stop_pid(containerd, SIGTERM, 10000);
		containerd = -1;
	}
	/* The container's processes, were the task not deleted. */
	if (task_pid > 0 && kill(task_pid, 0) == 0)
		kill(task_pid, SIGKILL);
	if (cgparent[0] && ctr_cgroup_remove(cgparent))
		fprintf(stderr, "test_containerd: cgroups under %s left\n", cgparent);
	nstest_delete_all();
	if (ctr_sh_quiet("rm -rf %s", work))
		fprintf(stderr, "test_containerd: cleaning %s failed\n", work);
	have_work = false;
}

/* Start containerd with a configuration of the test's and wait until it
 * answers on its socket. */
static void start_containerd(void)
{
	FILE *f;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/config.toml", work);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "version = 2\nroot = \"%s/root\"\nstate = \"%s/state\"\n"
		   "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
		   "[grpc]\n  address = \"%s/containerd.sock\"\n"
		   "[ttrpc]\n  address = \"%s/containerd.sock.ttrpc\"\n"
		   "[debug]\n  address = \"%s/debug.sock\"\n",
		work, work, work, work, work);
	ck_assert_int_eq(fclose(f), 0);
	containerd = fork();
	ck_assert_int_ge(containerd, 0);
	if (containerd == 0) {
		char log[PATH_MAX];

		snprintf(log, sizeof(log), "%s/containerd.log", work);
		setsid();
		if (freopen("/dev/null", "r", stdin) && freopen(log, "w", stdout) &&
		    dup2(fileno(stdout), 2) == 2)
			execlp("containerd", "containerd", "--config", path, (char *)NULL);
		_exit(127);
	}
	ck_assert_msg(ctr_sh_wait(WAIT_MS, CTR " version >/dev/null 2>&1", work),
		      "containerd did not answer in %d ms (see %s/containerd.log)",
		      WAIT_MS, work);
}

/* `ctr run -d --rootfs` of the container, in the test's namespace and
 * the kubepods cgroup, with the annotations. */
static void run_container(void)
{
	char args[2048] = "", rootfs[PATH_MAX];
	size_t i, n = 0;

	for (i = 0; i < sizeof(annots) / sizeof(annots[0]); i++)
		n += (size_t)snprintf(args + n, sizeof(args) - n, " --annotation %s=%s",
				      annots[i].key, annots[i].value);
	ck_assert_uint_lt(n, sizeof(args));
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", work);
	ctr_make_rootfs(rootfs);
	ctr_sh(CTR " run -d --rootfs --with-ns network:/run/netns/%s "
	       "--cgroup %s/kubepods/besteffort/pod%s/%s%s %s/rootfs %s "
	       "/bin/busybox sh -c '/bin/busybox httpd -p 8080 -h / && exec "
	       "/bin/busybox nc -ll -p 9090 -e /bin/busybox sleep 100000' "
	       ">%s/ctr-run.log 2>&1",
	       work, netns, cgparent, pod_uid, ctr_id, args, work, ctr_id, work);
}

/* A field of `ctr container info`, through jq. */
static void info(char *out, size_t size, const char *jq)
{
	ctr_sh_line(out, size, CTR " container info %s | jq -r '%s'", work, ctr_id, jq);
}

/* The annotation `key` as containerd keeps it. */
static void info_annot(char *out, size_t size, const char *key)
{
	char jq[256];

	snprintf(jq, sizeof(jq), ".Spec.annotations[\"%s\"]", key);
	info(out, size, jq);
}

/* What containerd's own state says of the container. */
static struct {
	char cgroup[PATH_MAX], ns[64], name[64], uid[64], cname[64];
} want;

/* Read `want` from `ctr container info`, and check it holds what the
 * test asked for. */
static void read_want(void)
{
	info(want.cgroup, sizeof(want.cgroup), ".Spec.linux.cgroupsPath");
	info_annot(want.ns, sizeof(want.ns), "io.kubernetes.cri.sandbox-namespace");
	info_annot(want.name, sizeof(want.name), "io.kubernetes.cri.sandbox-name");
	info_annot(want.uid, sizeof(want.uid), "io.kubernetes.cri.sandbox-uid");
	info_annot(want.cname, sizeof(want.cname), "io.kubernetes.cri.container-name");
	ck_assert_str_eq(want.ns, POD_NS);
	ck_assert_str_eq(want.name, pod_name);
	ck_assert_str_eq(want.uid, pod_uid);
	ck_assert_str_eq(want.cname, ctr_name);
	ck_assert_msg(strstr(want.cgroup, "/kubepods/besteffort/pod") &&
		      strstr(want.cgroup, pod_uid) && strstr(want.cgroup, ctr_id),
		      "cgroupsPath %s", want.cgroup);
}

/* Every process of the report is the container's, as containerd's own
 * state describes it. */
static void check_processes(const cJSON *doc)
{
	const cJSON *p;
	int n = 0;

	cJSON_ArrayForEach(p, json_array(doc, "processes")) {
		const cJSON *c = json_object(p, "container");
		const cJSON *pod = json_object(p, "pod");

		ctr_str_is(p, "cgroup", want.cgroup);
		ctr_str_is(p, "unit", NULL);
		ctr_str_is(c, "id", ctr_id);
		ctr_str_is(c, "runtime", "containerd");
		ctr_str_is(c, "name", want.cname);
		ctr_str_is(pod, "namespace", want.ns);
		ctr_str_is(pod, "name", want.name);
		ctr_str_is(pod, "uid", want.uid);
		ctr_str_is(pod, "container", want.cname);
		n++;
	}
	ck_assert_msg(n > 0, "no process in the report");
}

/* The container's sockets: httpd's and nc's listeners, the connection
 * the host holds (lport: its port on the host) and the one it closed. */
static void check_sockets(const cJSON *doc, int held, int closed)
{
	ck_assert_msg(json_socket_by_ports(doc, 8080, -1), "no httpd listener");
	ck_assert_msg(json_socket_by_ports(doc, 9090, 0), "no nc listener");
	ctr_check_connections(doc, held, closed);
}

/* The pod's group: the pod's keys and its sockets by state. */
static void check_pod_group(const cJSON *g)
{
	const cJSON *pod, *states;

	ck_assert_msg(g, "no group of pod %s", pod_uid);
	ctr_str_is(g, "side", "pod");
	pod = json_object(g, "pod");
	ctr_str_is(pod, "namespace", POD_NS);
	ctr_str_is(pod, "name", pod_name);
	ctr_str_is(pod, "uid", pod_uid);
	states = json_object(g, "states");
	ck_assert_int_eq(json_int(states, "listen"), 2);
	ck_assert_int_eq(json_int(states, "established"), 1);
	ck_assert_int_eq(json_int(states, "close_wait"), 1);
	ck_assert_int_eq(json_int(g, "close_wait"), 1);
}

START_TEST(test_containerd_pod)
{
	static const char *const tools[] = { "containerd", "ctr", "runc", "busybox",
					     "jq", "ip", "ss" };
	char pidstr[24], line[256], prefix[13];
	int held, closed, fd;
	const char *why = NULL;
	size_t i;
	cJSON *doc;

	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (!ctr_on_path(tools[i]))
			why = tools[i];
	if (geteuid() != 0 || why || !nstest_available(&why)) {
		fprintf(stderr, "test_containerd: skipped (%s): needs root and "
				"'apt-get install containerd runc busybox-static jq iproute2'\n",
			why ? why : "not root");
		return;
	}
	ck_assert_ptr_nonnull(mkdtemp(work));
	have_work = true;
	snprintf(ctr_id, sizeof(ctr_id), "%08x%.56s", (unsigned)getpid(), ID("c7"));
	snprintf(pod_name, sizeof(pod_name), "cart-%d", (int)getpid());
	snprintf(ctr_name, sizeof(ctr_name), "web-%d", (int)getpid());
	snprintf(pod_ref, sizeof(pod_ref), POD_NS "/%s", pod_name);
	snprintf(pod_uid, sizeof(pod_uid), "4b7c1d2e-1111-4a2b-9c3d-%012x", (unsigned)getpid());
	snprintf(netns, sizeof(netns), "sa-ctrd-%d", (int)getpid());
	snprintf(hostif, sizeof(hostif), "sactrd%d", (int)getpid() % 100000);
	snprintf(ip, sizeof(ip), "10.213.%d.2", (int)getpid() % 250);
	snprintf(cgparent, sizeof(cgparent), "/sockaudit-containerd-%d", (int)getpid());
	snprintf(stateenv, sizeof(stateenv),
		 "SOCKAUDIT_CONTAINERD_STATE=%s/state/io.containerd.runtime.v2.task", work);
	ck_assert_int_eq(ctr_netns_veth(netns, hostif, 213, (int)getpid() % 250), 0);
	start_containerd();
	run_container();

	/* containerd's view: the task runs, with this PID. */
	ctr_sh_line(line, sizeof(line), CTR " task ls | awk '$1 == \"%s\" {print $2, $3}'",
		    work, ctr_id);
	ck_assert_int_eq(sscanf(line, "%d", &task_pid), 1);
	ck_assert_msg(strstr(line, "RUNNING"), "task: %s", line);
	read_want();

	/* httpd answers the host; the host holds one connection to nc and
	 * closes another, which its sleep keeps in CLOSE-WAIT. */
	fd = ctr_traffic(ip, netns, WAIT_MS, &held, &closed);

	/* Selections, from either file: each gives the container's
	 * processes and sockets. */
	snprintf(pidstr, sizeof(pidstr), "%d", (int)task_pid);
	memcpy(prefix, ctr_id, 12);
	prefix[12] = '\0';
	{
		static const struct {
			const char *opt;
			int arg; /* 0: pid, 1: pod NS/NAME, 2: pod NAME, 3: id,
				  * 4: id prefix, 5: name */
			bool all; /* every socket of the container */
		} sels[] = {
			{ "--pid", 0, false },	     { "--pod", 1, true },
			{ "--pod", 2, true },	     { "--container", 3, true },
			{ "--container", 4, true }, { "--container", 5, true },
		};
		const char *vals[] = { pidstr, pod_ref, pod_name, ctr_id,
				       prefix, ctr_name };

		for (i = 0; i < 2 * sizeof(sels) / sizeof(sels[0]); i++) {
			size_t k = i % (sizeof(sels) / sizeof(sels[0]));
			const char *args[] = { sels[k].opt, vals[sels[k].arg], NULL };

			doc = ctr_audit(i == k ? env : runc_env, args, 0);
			check_processes(doc);
			ck_assert_msg(ctr_report_process(doc, task_pid),
				      "%s %s: no task process", args[0], args[1]);
			if (sels[k].all)
				check_sockets(doc, held, closed);
			else
				ck_assert(json_socket_by_ports(doc, 9090, 0));
			cJSON_Delete(doc);
		}
	}

	/* The pod's group, selected and in the whole node's view. */
	{
		const char *sel[] = { "--pod", pod_ref, "--group-by", "pod", NULL };
		const char *all[] = { "--all-netns", "--group-by", "pod", NULL };
		const char *byc[] = { "--container", ctr_id, "--group-by", "container", NULL };
		const char *none[] = { "--pod", POD_NS "/nosuch", NULL };
		const char *cw[] = { "--pod", pod_ref, "--state", "close_wait",
				     "--max", "0", NULL };
		const cJSON *g, *c;

		doc = ctr_audit(env, sel, 0);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "groups")), 1);
		check_pod_group(ctr_group_by(doc, "pod", "uid", pod_uid));
		cJSON_Delete(doc);

		doc = ctr_audit(env, all, 0);
		g = ctr_group_by(doc, "pod", "uid", pod_uid);
		check_pod_group(g);
		/* Its sockets are all in the pod's namespace: so is the group
		 * (ip netns's file is the namespace's nsfs inode). */
		{
			char path[64];
			struct stat st;

			snprintf(path, sizeof(path), "/run/netns/%s", netns);
			ck_assert_int_eq(stat(path, &st), 0);
			ck_assert_msg(json_int(g, "netns") == (long long)st.st_ino,
				      "the pod's group is in netns %lld, its sockets in %llu",
				      json_int(g, "netns"), (unsigned long long)st.st_ino);
		}
		cJSON_Delete(doc);

		doc = ctr_audit(env, byc, 0);
		g = ctr_group_by(doc, "container", "id", ctr_id);
		ck_assert_msg(g, "no group of container %s", ctr_id);
		c = json_object(g, "container");
		ctr_str_is(c, "runtime", "containerd");
		ctr_str_is(c, "name", ctr_name);
		ck_assert_int_eq(json_int(g, "close_wait"), 1);
		cJSON_Delete(doc);

		doc = ctr_audit(env, none, 0);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 0);
		cJSON_Delete(doc);

		/* The leak, asserted: exit status 1. */
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
	return ctr_run("containerd", test_containerd_pod, 300, teardown);
}
