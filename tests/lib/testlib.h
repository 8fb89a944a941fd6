/*
 * Helpers for the tests that run the sockaudit binary: run a command and
 * capture its output, read its JSON report, and ask ss(8) for the
 * kernel's view of the same sockets (the oracle).
 */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

/* What a finished command left behind. */
struct run_result {
	int status;	/* exit status; 128 + signal when killed; -1: not run */
	int signaled;	/* the signal that ended it, else 0 */
	bool timed_out; /* killed by run_cmd after the timeout */
	char *out;	/* stdout, NUL-terminated (never NULL after run_cmd) */
	size_t out_len;
	char *err;	/* stderr, NUL-terminated */
	size_t err_len;
	/* run_sockaudit: lines of the dump-inconsistency warning taken out
	 * of err (see drop_busy_host_warning in testlib.c). */
	int dump_changed;
};

#define RUN_TIMEOUT_MS 20000

/*
 * Run argv[0] (searched in PATH) with argv, the environment of this
 * process plus `env_extra` ("NAME=value" strings overriding the
 * inherited ones; NULL-terminated, or NULL), stdin from /dev/null, in its
 * own process group, killed (the whole group) after timeout_ms.
 * Returns 0 when the command ran (whatever its status), -errno when it
 * could not be started; *r is filled either way and must be freed with
 * run_result_free.
 */
int run_cmd(const char *const argv[], const char *const env_extra[],
	    int timeout_ms, struct run_result *r);
void run_result_free(struct run_result *r);

/* The binary under test: $SOCKAUDIT, else "./sockaudit". */
const char *sockaudit_path(void);

/* A test-environment directory: $TEST_SHIMS etc., else `fallback`. */
const char *test_env_dir(const char *name, const char *fallback);

/*
 * Run sockaudit with the given arguments (a NULL-terminated list after
 * env_extra) and RUN_TIMEOUT_MS.  The test fails (ck_assert) when the
 * binary cannot be started or times out.
 */
void run_sockaudit(struct run_result *r, const char *const env_extra[], ...)
	__attribute__((sentinel));
/* The same with a NULL-terminated argument vector (without argv[0]). */
void run_sockaudit_v(struct run_result *r, const char *const env_extra[],
		     const char *const args[]);
/* Run the binary as nobody (setpriv; uid and gid 65534, no groups) with
 * these arguments (NULL-terminated).  The test fails when it times out,
 * dies of a signal or cannot be executed by nobody. */
void run_sockaudit_as_nobody(struct run_result *r, const char *const *args);

/* The source `--source auto` takes as root here: "bpf" when this build
 * has the BPF programs and they load, else "netlink". */
const char *auto_source(void);

/* CLOCK_MONOTONIC in milliseconds. */
long long test_now_ms(void);

/* A printable summary of a run for assertion messages (static buffer). */
const char *run_describe(const struct run_result *r);

/* Number of lines in s (a last line without '\n' counts). */
int count_lines(const char *s);
/* Whether every line of s starts with prefix (true for ""). */
bool all_lines_start_with(const char *s, const char *prefix);
/* Number of lines of s that contain needle (case-insensitive). */
int count_lines_containing(const char *s, const char *needle);
/* Number of the table's totals lines in s: "N socket(s) in M group(s): ",
 * singular or plural (a process caught closing may hold 1 socket). */
int count_totals_lines(const char *s);

/* ---- JSON report ---- */

/* Parse r->out as the JSON report; the test fails when it is not JSON
 * or has no "sockets" array.  Free with cJSON_Delete. */
cJSON *json_report(const struct run_result *r);

/* The integer value of obj[key]; the test fails when it is missing or
 * not a number.  Numbers must be whole. */
long long json_int(const cJSON *obj, const char *key);
/* Whether obj[key] exists and is JSON null. */
bool json_is_null(const cJSON *obj, const char *key);
/* The string value of obj[key]; the test fails when it is not a string. */
const char *json_str(const cJSON *obj, const char *key);
/* obj[key] as an array / object; the test fails otherwise. */
cJSON *json_array(const cJSON *obj, const char *key);
cJSON *json_object(const cJSON *obj, const char *key);

/* The sockets of the report with this inode, and how many there are. */
cJSON *json_socket_by_inode(const cJSON *doc, unsigned long inode);
int json_count_inode(const cJSON *doc, unsigned long inode);
/* The first socket with this local port and (when rport >= 0) this
 * remote port, or NULL. */
cJSON *json_socket_by_ports(const cJSON *doc, int lport, int rport);
/* The entry of sock.processes with this pid, or NULL. */
cJSON *json_socket_process(const cJSON *sock, pid_t pid);
/* Whether a socket's flags array holds `flag`; the flag count. */
bool json_has_flag(const cJSON *sock, const char *flag);
int json_flag_count(const cJSON *sock);

/* Groups: server by local port, client by remote address and port,
 * process by pid; NULL when absent. */
cJSON *json_group_server(const cJSON *doc, int lport);
cJSON *json_group_client(const cJSON *doc, const char *raddr, int rport);
cJSON *json_group_process(const cJSON *doc, pid_t pid);
/* The entry of group.processes with this pid, or NULL. */
cJSON *json_group_process_entry(const cJSON *group, pid_t pid);
/* group.states[state], 0 when absent. */
long long json_group_state(const cJSON *group, const char *state);

/*
 * Check every key the contract fixes on one socket object: types, the
 * family/state vocabulary, nullability, idle_ms = min of the two times,
 * and that idle/stalled/close_wait flags agree with the reported values
 * under idle_threshold_ms.  Fails the test on any mismatch.
 */
void json_check_socket_shape(const cJSON *sock, long long idle_threshold_ms);
/* The same for the whole document: schema, source, totals equal to a
 * count over "sockets", groups' shape. */
void json_check_report_shape(const cJSON *doc);

/* ---- ss(8) oracle ---- */

#define SS_MAX_USERS 8

struct ss_entry {
	char state[16];	 /* as sockaudit names it: "established", ... */
	char laddr[64];	 /* brackets and %iface removed */
	int lport;
	char raddr[64];
	int rport;	 /* 0 for '*' */
	unsigned long inode;
	unsigned long uid;
	unsigned long recv_q, send_q;
	int nusers;
	pid_t pids[SS_MAX_USERS];
	int fds[SS_MAX_USERS];
	char comms[SS_MAX_USERS][32];
};

/*
 * Run `ss -tanpeH` (with extra arguments appended, NULL-terminated list,
 * or NULL) and parse every line.  Returns the number of entries (>= 0)
 * in *out (free()), or -1 when ss failed; the test does not fail here.
 */
int ss_dump(const char *const extra[], struct ss_entry **out);
/* The same for any command line printing ss -tanpeH lines (argv[0]
 * searched in PATH), e.g. ss inside a namespace. */
int ss_run(const char *const argv[], struct ss_entry **out);

/* Parse one line of `ss -tanpeH`.  Returns 0, or -1 when malformed. */
int ss_parse_line(const char *line, struct ss_entry *e);

/* Map ss's state column ("ESTAB", "CLOSE-WAIT", "UNCONN") to the JSON
 * name ("established", "close_wait", "close"); NULL when unknown. */
const char *ss_state_to_json(const char *ss_state);

#endif
