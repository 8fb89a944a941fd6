/*
 * The command line.  One table lists every option; options_parse checks
 * every value through parse.c and names the bad one in its message.
 */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "sockaudit.h"

/* Long options without a short letter. */
enum {
	OPT_SOURCE = 256,
	OPT_MAX,
	OPT_MAX_GROWTH,
	OPT_FD_PRESSURE,
	OPT_MAX_PEERS,
	OPT_LISTEN,
	OPT_NETNS,
	OPT_ALL_NETNS,
};

/* Sorted by long name. */
static const struct option long_options[] = {
	{ "all-netns", no_argument, NULL, OPT_ALL_NETNS },
	{ "count", required_argument, NULL, 'c' },
	{ "fd-pressure", required_argument, NULL, OPT_FD_PRESSURE },
	{ "flag", required_argument, NULL, 'F' },
	{ "format", required_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ "idle", required_argument, NULL, 'i' },
	{ "json", no_argument, NULL, 'j' },
	{ "list", no_argument, NULL, 'l' },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "max", required_argument, NULL, OPT_MAX },
	{ "max-growth", required_argument, NULL, OPT_MAX_GROWTH },
	{ "max-peers", required_argument, NULL, OPT_MAX_PEERS },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "pid", required_argument, NULL, 'p' },
	{ "port", required_argument, NULL, 'P' },
	{ "remote-port", required_argument, NULL, 'r' },
	{ "source", required_argument, NULL, OPT_SOURCE },
	{ "state", required_argument, NULL, 's' },
	{ "version", no_argument, NULL, 'V' },
	{ "watch", required_argument, NULL, 'w' },
	{ NULL, 0, NULL, 0 },
};

static const char short_options[] = ":46c:F:f:hi:jlp:P:r:s:Vw:";

void options_usage(FILE *out)
{
	fputs("Usage: sockaudit [OPTION]...\n"
	      "Audit TCP sockets: who holds them, which are in CLOSE-WAIT, idle,\n"
	      "stalled or dead, grouped by server port and client peer.\n"
	      "\n"
	      "Selection (every given selection must match; lists are comma-separated):\n"
	      "  -p, --pid PID[,PID...]        sockets held open by these processes (read\n"
	      "                                in each one's network namespace)\n"
	      "  -P, --port PORT[,PORT...]     sockets whose local port is listed\n"
	      "  -r, --remote-port PORT[,...]  sockets whose remote port is listed\n"
	      "  -s, --state STATE[,STATE...]  established syn-sent syn-recv fin-wait-1\n"
	      "                                fin-wait-2 time-wait close close-wait\n"
	      "                                last-ack listen closing, or all (default)\n"
	      "  -F, --flag FLAG[,FLAG...]     close_wait idle stalled dead\n"
	      "  -4, -6                        IPv4 or IPv6 sockets only\n"
	      "\n"
	      "Network namespaces (default: sockaudit's own):\n"
	      "      --netns NAME|PATH         audit this namespace instead: a name under\n"
	      "                                /run/netns or an nsfs path such as\n"
	      "                                /proc/PID/ns/net (repeatable)\n"
	      "      --all-netns               audit every namespace of a process or a name\n"
	      "\n"
	      "Thresholds and output:\n"
	      "  -i, --idle DURATION           idle threshold (default 60s); DURATION is\n"
	      "                                a whole number with ms, s, m or h (bare:\n"
	      "                                seconds), 0 to 2147483647ms\n"
	      "  -f, --format table|json|prometheus\n"
	      "                                output format (default table); prometheus:\n"
	      "                                the text exposition format (textfile collector)\n"
	      "  -j, --json                    same as --format json\n"
	      "  -l, --list                    table: one line per socket\n"
	      "      --max-peers N             prometheus: client peers exported one by one,\n"
	      "                                the rest summed as peer=\"other\" (default 50)\n"
	      "      --source auto|bpf|netlink|proc  where sockets are read (default auto:\n"
	      "                                BPF iterators, else netlink, else /proc/net/tcp\n"
	      "                                with a warning)\n"
	      "      --max N                   exit 1 when more than N sockets are selected\n"
	      "      --fd-pressure PERCENT     flag processes using at least PERCENT of\n"
	      "                                their descriptor limit (default 80)\n"
	      "\n"
	      "Over time:\n"
	      "  -w, --watch DURATION          audit again every DURATION until interrupted;\n"
	      "                                show changes, growth per minute, leaking groups\n"
	      "  -c, --count N                 with --watch: stop after N samples\n"
	      "      --max-growth RATE         with --count: exit 1 when a group grew faster\n"
	      "                                than RATE sockets per minute over the window\n"
	      "\n"
	      "Exporter:\n"
	      "      --listen ADDR:PORT        serve Prometheus metrics over HTTP: each\n"
	      "                                GET /metrics is a fresh audit with the given\n"
	      "                                selections; numeric address, default 127.0.0.1\n"
	      "                                (e.g. 127.0.0.1:9477, [::1]:9477, 0.0.0.0:9477);\n"
	      "                                runs until SIGTERM or SIGINT\n"
	      "\n"
	      "  -h, --help                    show this help and exit\n"
	      "  -V, --version                 show the version and exit\n"
	      "\n"
	      "Exit status: 0 audit ran and assertions hold, 1 an assertion failed,\n"
	      "2 usage error, 3 the audit could not run.\n"
	      "\n"
	      "Examples: sockaudit --port 8080 --state close_wait --max 0   (CI)\n"
	      "          sockaudit --pid $PID --watch 2s --count 10 --max-growth 0\n"
	      "          sockaudit --pid $(pidof myservice)   (a container's sockets)\n",
	      out);
}

static void defaults(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->action = ACTION_AUDIT;
	o->states = STATES_ALL;
	o->families = FAMILY_BOTH;
	o->idle_ms = 60000;
	o->format = FORMAT_TABLE;
	o->source = SOURCE_AUTO;
	o->fd_pressure = 80;
	o->max_peers = 50;
}

void options_free(struct options *o)
{
	free(o->pids);
	o->pids = NULL;
	o->npids = 0;
	free(o->netns);
	o->netns = NULL;
	o->nnetns = 0;
}

/* The option as the user wrote it, for messages. */
static const char *opt_name(int c, char buf[32])
{
	size_t i;

	for (i = 0; long_options[i].name; i++)
		if (long_options[i].val == c) {
			snprintf(buf, 32, "--%s", long_options[i].name);
			return buf;
		}
	snprintf(buf, 32, "-%c", c);
	return buf;
}

static int bad_value(char *err, size_t errlen, int c, const char *what,
		     const char *value)
{
	char name[32];

	snprintf(err, errlen, "%s '%s': expected %s", opt_name(c, name), value, what);
	return 2;
}

/* One option with its argument.  Returns 0, 2 (usage) or -ENOMEM. */
static int apply(struct options *o, int c, const char *arg, char *err,
		 size_t errlen)
{
	uint64_t v;
	int rc;

	switch (c) {
	case '4':
		o->families = FAMILY_INET;
		return 0;
	case '6':
		o->families = FAMILY_INET6;
		return 0;
	case 'F':
		if (parse_flag_list(arg, &o->flags))
			return bad_value(err, errlen, c,
					 "flags among close_wait, idle, stalled, dead", arg);
		return 0;
	case 'f':
	case 'j':
		if (c == 'j' || !strcmp(arg, "json"))
			o->format = FORMAT_JSON;
		else if (!strcmp(arg, "table"))
			o->format = FORMAT_TABLE;
		else if (!strcmp(arg, "prometheus"))
			o->format = FORMAT_PROMETHEUS;
		else
			return bad_value(err, errlen, c, "table, json or prometheus", arg);
		return 0;
	case 'h':
		o->action = ACTION_HELP;
		return 0;
	case 'V':
		o->action = ACTION_VERSION;
		return 0;
	case 'i':
		if (parse_duration_ms(arg, &o->idle_ms))
			return bad_value(err, errlen, c,
					 "a whole number with ms, s, m or h (e.g. 500ms, 30s, 5m)", arg);
		return 0;
	case 'l':
		o->list = true;
		return 0;
	case OPT_MAX:
		if (parse_uint(arg, 0, UINT64_MAX, &v))
			return bad_value(err, errlen, c, "a whole number >= 0", arg);
		o->has_max = true;
		o->max = v;
		return 0;
	case 'p':
		rc = parse_pid_list(arg, &o->pids, &o->npids);
		if (rc == -ENOMEM)
			return rc;
		if (rc)
			return bad_value(err, errlen, c, "PIDs (positive whole numbers)", arg);
		return 0;
	case 'P':
	case 'r':
		if (parse_port_list(arg, c == 'P' ? o->ports : o->rports))
			return bad_value(err, errlen, c, "ports 1-65535", arg);
		if (c == 'P')
			o->has_ports = true;
		else
			o->has_rports = true;
		return 0;
	case 's':
		if (parse_state_list(arg, &o->states))
			return bad_value(err, errlen, c, "states such as established, close-wait, listen, or all", arg);
		return 0;
	case 'w':
		if (parse_duration_ms(arg, &o->watch_ms) || o->watch_ms == 0)
			return bad_value(err, errlen, c,
					 "a duration from 1ms to 2147483647ms (e.g. 250ms, 2s, 1m)", arg);
		o->has_watch = true;
		return 0;
	case 'c':
		if (parse_uint(arg, 1, UINT64_MAX, &v))
			return bad_value(err, errlen, c, "a whole number from 1 to 2^64-1", arg);
		o->has_count = true;
		o->count = v;
		return 0;
	case OPT_MAX_GROWTH:
		if (parse_rate(arg, &o->max_growth))
			return bad_value(err, errlen, c,
					 "a rate >= 0 in sockets per minute (e.g. 0, 1.5)", arg);
		o->has_max_growth = true;
		return 0;
	case OPT_FD_PRESSURE:
		if (parse_uint(arg, 1, 100, &v))
			return bad_value(err, errlen, c, "a whole percentage 1-100", arg);
		o->fd_pressure = (unsigned)v;
		return 0;
	case OPT_MAX_PEERS:
		if (parse_uint(arg, 0, UINT32_MAX, &v))
			return bad_value(err, errlen, c, "a whole number from 0 to 4294967295", arg);
		o->max_peers = (uint32_t)v;
		return 0;
	case OPT_LISTEN:
		if (parse_listen_addr(arg, &o->listen_addr, &o->listen_len))
			return bad_value(err, errlen, c,
					 "ADDR:PORT with a numeric address (127.0.0.1:9477, "
					 "[::1]:9477, 0.0.0.0:9477)", arg);
		o->has_listen = true;
		o->listen_arg = arg;
		return 0;
	case OPT_NETNS: {
		const char **v2;

		if (!*arg)
			return bad_value(err, errlen, c, "a namespace name or path", arg);
		v2 = realloc(o->netns, (o->nnetns + 1) * sizeof(*v2));
		if (!v2)
			return -ENOMEM;
		o->netns = v2;
		o->netns[o->nnetns++] = arg;
		return 0;
	}
	case OPT_ALL_NETNS:
		o->all_netns = true;
		return 0;
	case OPT_SOURCE:
		if (!strcmp(arg, "auto"))
			o->source = SOURCE_AUTO;
		else if (!strcmp(arg, "netlink"))
			o->source = SOURCE_NETLINK;
		else if (!strcmp(arg, "proc"))
			o->source = SOURCE_PROC;
		else if (!strcmp(arg, "bpf"))
			o->source = SOURCE_BPF;
		else
			return bad_value(err, errlen, c, "auto, bpf, netlink or proc", arg);
		return 0;
	}
	snprintf(err, errlen, "internal error: option %d", c);
	return 2;
}

/* Options that depend on each other.  Returns 0 or 2. */
static int check_combinations(const struct options *o, char *err, size_t errlen)
{
	const char *msg = NULL;

	if (o->has_count && !o->has_watch)
		msg = "--count needs --watch";
	else if (o->has_max_growth && !o->has_count)
		msg = "--max-growth needs --watch and --count (it is judged after the last sample)";
	else if (o->has_listen && o->format == FORMAT_JSON)
		msg = "--listen serves the Prometheus format only: drop --json/--format";
	else if (o->has_listen && o->has_max)
		msg = "--max judges one run: it has no meaning with --listen";
	else if (o->has_listen && o->has_watch)
		msg = "--watch and --listen cannot be combined (each scrape is a fresh audit)";
	else if (o->has_watch && o->format == FORMAT_PROMETHEUS)
		msg = "--watch and --format prometheus cannot be combined (Prometheus "
		      "samples by itself: use --listen)";
	if (!msg)
		return 0;
	snprintf(err, errlen, "%s", msg);
	return 2;
}

int options_parse(int argc, char *const argv[], struct options *o, char *err,
		  size_t errlen)
{
	int c, rc = 0, word_at = 1;

	defaults(o);
	opterr = 0; /* messages are ours, with our prefix */
	optind = 0; /* glibc: 0 re-initialises getopt fully (1 does not) */
	/* word_at: the word getopt is reading, for messages (optind has
	 * already moved past it, except inside a cluster like -lx). */
	while (word_at = optind ? optind : 1,
	       (c = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
		if (c == '?' || c == ':') {
			const char *word = word_at < argc ? argv[word_at] : NULL;

			if (optopt && optopt < 256 && word && strncmp(word, "--", 2) != 0)
				snprintf(err, errlen, c == ':' ?
					 "option '-%c' needs a value" :
					 "unknown option '-%c'", optopt);
			else
				snprintf(err, errlen, c == ':' ?
					 "option '%s' needs a value" :
					 "unknown or ambiguous option '%s'", word ? word : "?");
			rc = 2;
			break;
		}
		rc = apply(o, c, optarg, err, errlen);
		if (rc)
			break;
	}
	if (!rc && optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		rc = 2;
	}
	if (!rc && o->action == ACTION_AUDIT)
		rc = check_combinations(o, err, errlen);
	if (rc)
		options_free(o);
	return rc;
}
