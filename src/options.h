/*
 * The command line: one table of options (option_table.c), one routine
 * per kind of value that validates it.  No I/O but the --help text and
 * the --dump-options listing.
 */
#ifndef OPTIONS_H
#define OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>

enum out_format { FORMAT_TABLE, FORMAT_JSON, FORMAT_PROMETHEUS };
enum source_kind { SOURCE_AUTO, SOURCE_NETLINK, SOURCE_PROC, SOURCE_BPF };
enum run_action { ACTION_AUDIT, ACTION_HELP, ACTION_VERSION, ACTION_DUMP_OPTIONS };

/* Names given to a list option (--unit, --container, --pod), each
 * malloc'd, in the order given. */
struct name_list {
	char **v;
	size_t n;
};

/* Ordered by alignment, widest first. */
struct options {
	struct sockaddr_storage listen_addr; /* --listen */
	pid_t *pids;
	size_t npids;
	uint64_t max;
	uint64_t count;	    /* --count samples */
	double max_growth;  /* --max-growth, sockets per minute */
	const char *listen_arg; /* --listen as given, for messages */
	const char *web_config; /* --web-config FILE; NULL: plain HTTP */
	const char **netns; /* --netns NAME|PATH, in the order given */
	size_t nnetns;
	struct name_list units;	     /* --unit */
	struct name_list containers; /* --container */
	struct name_list pods;	     /* --pod */
	enum run_action action;
	enum out_format format;
	enum source_kind source;
	int group_by;	      /* enum group_by (audit.h) */
	uint32_t states;      /* STATE_BIT mask */
	uint32_t flags;	      /* enum sock_flag mask, 0 = any */
	unsigned families;
	unsigned protocols;   /* PROTO_BIT mask: -t, -u, -x (default TCP) */
	uint32_t idle_ms;
	uint32_t watch_ms;    /* --watch interval */
	unsigned fd_pressure; /* percent, 1-100 (default 80) */
	uint32_t max_peers;   /* client peers before "other" (default 50) */
	uint32_t max_requests; /* --listen: scrapes waiting at once (default 40) */
	uint32_t max_processes; /* processes before pid="other" (default 100) */
	socklen_t listen_len;
	bool has_ports, has_rports, list, has_max;
	bool has_watch, has_count, has_max_growth, has_listen, all_netns;
	/* Not an option: pids were found by workload (snapshot.c), and one
	 * that exited since is skipped, not an error. */
	bool pids_found;
	uint8_t ports[65536 / 8];
	uint8_t rports[65536 / 8];
};

/*
 * Parse argv into *o (defaults first).  Returns 0, or 2 for a usage
 * error with a one-line message (without the "sockaudit: " prefix) in
 * err.  -ENOMEM possible.
 */
int options_parse(int argc, char *const argv[], struct options *o, char *err,
		  size_t errlen);
void options_free(struct options *o);

/* The --help text. */
void options_usage(FILE *out);

/*
 * The option table for the completion generator and the tests
 * (sockaudit --dump-options, not documented to users): one line per
 * option, tab-separated:
 *
 *   LONG  LETTER  METAVAR  COMPLETE  VALUES  SECTION  SUMMARY
 *
 * "-" for an empty field; COMPLETE is how a shell completes the value
 * (none, value, enum, list, pids, netns); VALUES the enumerated values,
 * comma-separated; SECTION the man page's .SS title; SUMMARY the help
 * text's first phrase.
 */
void options_dump(FILE *out);

#endif
