/*
 * The command line: one table of options, one routine that validates
 * every value.  No I/O but the --help text.
 */
#ifndef OPTIONS_H
#define OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

enum out_format { FORMAT_TABLE, FORMAT_JSON, FORMAT_PROMETHEUS };
enum source_kind { SOURCE_AUTO, SOURCE_NETLINK, SOURCE_PROC };
enum run_action { ACTION_AUDIT, ACTION_HELP, ACTION_VERSION };

struct options {
	enum run_action action;
	pid_t *pids;
	size_t npids;
	bool has_ports, has_rports;
	uint8_t ports[65536 / 8];
	uint8_t rports[65536 / 8];
	uint32_t states; /* STATE_BIT mask */
	uint32_t flags;	 /* enum sock_flag mask, 0 = any */
	unsigned families;
	uint32_t idle_ms;
	enum out_format format;
	bool list;
	enum source_kind source;
	bool has_max;
	uint64_t max;
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

#endif
