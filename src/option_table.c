/*
 * Every option of sockaudit, once.  A new option is one row here (its
 * value read by an existing kind, or a new kind in options.c's
 * read_value) plus its prose in the man page; getopt_long's tables,
 * --help and the shell completions follow from the row, and
 * tests/test_options.c fails until the man page and README list it.
 */
#include "option_table.h"

#include <stddef.h>

#include "audit.h"
#include "options.h"
#include "sockaudit.h"

#define FIELD(f) .off = offsetof(struct options, f), \
		 .size = sizeof(((struct options *)0)->f)
#define HAS(f) .has = offsetof(struct options, f) + 1
/* Kinds that know their fields (PIDs, namespaces). */
#define NO_FIELD .off = 0, .size = 0

static const struct opt_value state_values[] = {
	{ "established", 0 }, { "syn-sent", 0 },   { "syn-recv", 0 },
	{ "fin-wait-1", 0 },  { "fin-wait-2", 0 }, { "time-wait", 0 },
	{ "close", 0 },	      { "close-wait", 0 }, { "last-ack", 0 },
	{ "listen", 0 },      { "closing", 0 },	   { "unconnected", 0 },
	{ "all", 0 },	      { NULL, 0 },
};

static const struct opt_value flag_values[] = {
	{ "close_wait", 0 }, { "idle", 0 }, { "stalled", 0 }, { "dead", 0 },
	{ "peer_closed", 0 }, { "dropping", 0 }, { NULL, 0 },
};

static const struct opt_value format_values[] = {
	{ "table", FORMAT_TABLE },
	{ "json", FORMAT_JSON },
	{ "prometheus", FORMAT_PROMETHEUS },
	{ NULL, 0 },
};

static const struct opt_value group_by_values[] = {
	{ "port", GROUP_BY_PORT },
	{ "process", GROUP_BY_PROCESS },
	{ "unit", GROUP_BY_UNIT },
	{ "container", GROUP_BY_CONTAINER },
	{ "pod", GROUP_BY_POD },
	{ NULL, 0 },
};

static const struct opt_value source_values[] = {
	{ "auto", SOURCE_AUTO },
	{ "bpf", SOURCE_BPF },
	{ "netlink", SOURCE_NETLINK },
	{ "proc", SOURCE_PROC },
	{ NULL, 0 },
};

/* In --help's order, grouped by section. */
const struct opt_def opt_table[] = {
	{ "pid", 'p', KIND_PIDS, "PID[,PID...]", NULL,
	  "sockets held open by these processes (read\n"
	  "in each one's network namespace)", SEC_SELECTION, NO_FIELD },
	{ "unit", 0, KIND_NAMES, "UNIT[,UNIT...]", NULL,
	  "sockets held by processes of these systemd\n"
	  "units (system or user units)", SEC_SELECTION, FIELD(units) },
	{ "container", 0, KIND_NAMES, "ID|NAME[,...]", NULL,
	  "sockets held by processes of these containers:\n"
	  "a full id, a unique prefix of at least 12 hex\n"
	  "digits, or a name", SEC_SELECTION, FIELD(containers) },
	{ "pod", 0, KIND_NAMES, "[NAMESPACE/]NAME[,...]", NULL,
	  "sockets held by processes of these Kubernetes\n"
	  "pods", SEC_SELECTION, FIELD(pods) },
	{ "port", 'P', KIND_PORTS, "PORT[,PORT...]", NULL,
	  "sockets whose local port is listed", SEC_SELECTION, FIELD(ports), HAS(has_ports) },
	{ "remote-port", 'r', KIND_PORTS, "PORT[,PORT...]", NULL,
	  "sockets whose remote port is listed", SEC_SELECTION, FIELD(rports), HAS(has_rports) },
	{ "state", 's', KIND_STATES, "STATE[,STATE...]", state_values,
	  "sockets in these TCP states:\n"
	  "established syn-sent syn-recv fin-wait-1\n"
	  "fin-wait-2 time-wait close close-wait\n"
	  "last-ack listen closing, unconnected (UDP,\n"
	  "UNIX), or all (default)", SEC_SELECTION, FIELD(states) },
	{ "flag", 'F', KIND_FLAGS, "FLAG[,FLAG...]", flag_values,
	  "sockets with one of these flags:\n"
	  "close_wait idle stalled dead peer_closed\n"
	  "dropping", SEC_SELECTION, FIELD(flags) },
	{ "tcp", 't', KIND_OR, NULL, NULL,
	  "TCP sockets (the default when no kind is given)", SEC_SELECTION,
	  FIELD(protocols), .set = PROTO_BIT(PROTO_TCP) },
	{ "udp", 'u', KIND_OR, NULL, NULL,
	  "UDP sockets", SEC_SELECTION, FIELD(protocols), .set = PROTO_BIT(PROTO_UDP) },
	{ "unix", 'x', KIND_OR, NULL, NULL,
	  "UNIX domain sockets (stream, seqpacket, dgram)", SEC_SELECTION,
	  FIELD(protocols), .set = PROTO_BIT(PROTO_UNIX) },
	{ NULL, '4', KIND_SET, NULL, NULL,
	  "IPv4 or IPv6 sockets only", SEC_SELECTION, FIELD(families), .set = FAMILY_INET },
	{ NULL, '6', KIND_SET, NULL, NULL,
	  NULL, SEC_SELECTION, FIELD(families), .set = FAMILY_INET6 },

	{ "netns", 0, KIND_NETNS, "NAME|PATH", NULL,
	  "audit this namespace instead: a name under\n"
	  "/run/netns or an nsfs path such as\n"
	  "/proc/PID/ns/net (repeatable)", SEC_NETNS, NO_FIELD },
	{ "all-netns", 0, KIND_SET, NULL, NULL,
	  "audit every namespace of a process or a name", SEC_NETNS,
	  FIELD(all_netns), .set = 1 },

	{ "idle", 'i', KIND_DURATION, "DURATION", NULL,
	  "idle threshold (default 60s); DURATION is\n"
	  "a whole number with ms, s, m or h (bare:\n"
	  "seconds), 0 to 2147483647ms", SEC_OUTPUT, FIELD(idle_ms) },
	{ "format", 'f', KIND_ENUM, "table|json|prometheus", format_values,
	  "output format (default table); prometheus:\n"
	  "the text exposition format (textfile collector)", SEC_OUTPUT, FIELD(format) },
	{ "json", 'j', KIND_SET, NULL, NULL,
	  "same as --format json", SEC_OUTPUT, FIELD(format), .set = FORMAT_JSON },
	{ "group-by", 0, KIND_ENUM, "port|process|unit|container|pod", group_by_values,
	  "one group per server port and client peer\n"
	  "(port, the default), or per process, systemd\n"
	  "unit, container or Kubernetes pod", SEC_OUTPUT, FIELD(group_by) },
	{ "list", 'l', KIND_SET, NULL, NULL,
	  "table: one line per socket", SEC_OUTPUT, FIELD(list), .set = 1 },
	{ "max-peers", 0, KIND_UINT, "N", NULL,
	  "prometheus: client peers exported one by one,\n"
	  "the rest summed as peer=\"other\" (default 50)", SEC_OUTPUT,
	  FIELD(max_peers), .min = 0, .max = UINT32_MAX },
	{ "max-processes", 0, KIND_UINT, "N", NULL,
	  "prometheus: processes exported one by one, the\n"
	  "most sockets first, the rest summed as\n"
	  "pid=\"other\" (default 100)", SEC_OUTPUT,
	  FIELD(max_processes), .min = 0, .max = UINT32_MAX },
	{ "source", 0, KIND_ENUM, "auto|bpf|netlink|proc", source_values,
	  "where sockets are read (default auto: BPF\n"
	  "iterators, else netlink, else /proc/net/tcp\n"
	  "with a warning)", SEC_OUTPUT, FIELD(source) },
	{ "max", 0, KIND_UINT, "N", NULL,
	  "exit 1 when more than N sockets are selected", SEC_OUTPUT,
	  FIELD(max), HAS(has_max), .min = 0, .max = UINT64_MAX },
	{ "fd-pressure", 0, KIND_UINT, "PERCENT", NULL,
	  "flag processes using at least PERCENT of\n"
	  "their descriptor limit (default 80)", SEC_OUTPUT,
	  FIELD(fd_pressure), .min = 1, .max = 100 },

	{ "watch", 'w', KIND_DURATION, "DURATION", NULL,
	  "audit again every DURATION until interrupted;\n"
	  "show changes, growth per minute, leaking groups", SEC_TIME,
	  FIELD(watch_ms), HAS(has_watch), .min = 1 },
	{ "count", 'c', KIND_UINT, "N", NULL,
	  "with --watch: stop after N samples", SEC_TIME,
	  FIELD(count), HAS(has_count), .min = 1, .max = UINT64_MAX },
	{ "max-growth", 0, KIND_RATE, "RATE", NULL,
	  "with --count: exit 1 when a group grew faster\n"
	  "than RATE sockets per minute over the window", SEC_TIME,
	  FIELD(max_growth), HAS(has_max_growth) },

	{ "listen", 0, KIND_LISTEN, "ADDR:PORT", NULL,
	  "serve Prometheus metrics over HTTP: each\n"
	  "GET /metrics is a fresh audit with the given\n"
	  "selections; numeric address, default 127.0.0.1\n"
	  "(e.g. 127.0.0.1:9477, [::1]:9477, 0.0.0.0:9477);\n"
	  "runs until SIGTERM or SIGINT", SEC_EXPORTER, HAS(has_listen) },
	{ "max-requests", 0, KIND_UINT, "N", NULL,
	  "scrapes waiting for an audit at once (default\n"
	  "40); more get 503 at once; scrapes that come\n"
	  "during an audit share its result", SEC_EXPORTER,
	  FIELD(max_requests), .min = 1, .max = 100000 },
	{ "web-config", 0, KIND_FILE, "FILE", NULL,
	  "TLS and basic authentication for --listen:\n"
	  "the exporter toolkit's web configuration\n"
	  "file (YAML); SIGHUP reads it again", SEC_EXPORTER,
	  FIELD(web_config) },

	{ "help", 'h', KIND_SET, NULL, NULL,
	  "show this help and exit", SEC_GENERAL, FIELD(action), .set = ACTION_HELP },
	{ "version", 'V', KIND_SET, NULL, NULL,
	  "show the version and exit", SEC_GENERAL, FIELD(action), .set = ACTION_VERSION },
	/* The table itself, for the completions and tests/test_options.c. */
	{ "dump-options", 0, KIND_SET, NULL, NULL,
	  "print this table, one option a line", SEC_GENERAL, FIELD(action),
	  .set = ACTION_DUMP_OPTIONS, .hidden = 1 },
};

const size_t opt_table_len = sizeof(opt_table) / sizeof(opt_table[0]);

_Static_assert(sizeof(opt_table) / sizeof(opt_table[0]) <= OPT_TABLE_MAX,
	       "OPT_TABLE_MAX is too small for opt_table");

const char *const opt_section_title[SEC_COUNT] = {
	[SEC_SELECTION] = "Selection",
	[SEC_NETNS] = "Network namespaces",
	[SEC_OUTPUT] = "Thresholds and output",
	[SEC_TIME] = "Over time",
	[SEC_EXPORTER] = "Exporter",
	[SEC_GENERAL] = "General",
};

const char *const opt_section_note[SEC_COUNT] = {
	[SEC_SELECTION] = " (every given selection must match; lists are comma-separated)",
	[SEC_NETNS] = " (default: sockaudit's own)",
	[SEC_OUTPUT] = "",
	[SEC_TIME] = "",
	[SEC_EXPORTER] = "",
	[SEC_GENERAL] = NULL,
};
