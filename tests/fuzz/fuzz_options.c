/* libFuzzer target: the command line.  The input split on NUL bytes is
 * argv[1..] (argv[0] = "sockaudit", at most 32 words); the raw input
 * also goes to each option-value parser. */
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "parse.h"

#define MAX_ARGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* options_parse sets optind = 1, which does not reset glibc's getopt:
 * a word left half-read by a failed parse (its "nextchar") would carry
 * over into the next input, pointing into freed memory.  Run
 * getopt once with optind = 0 to reinitialise it. */
static void reset_getopt(void)
{
	char a0[] = "x";
	char *av[] = { a0, NULL };
	optind = 0;
	opterr = 0;
	(void)getopt(1, av, "");
	optind = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	char argv0[] = "sockaudit";
	char *argv[MAX_ARGS + 1];
	int argc = 0;
	argv[argc++] = argv0;
	for (size_t i = 0; i < size && argc < MAX_ARGS;) {
		argv[argc++] = s + i;
		i += strlen(s + i) + 1;
	}
	argv[argc] = NULL;

	struct options o;
	char err[256];
	err[0] = '\0';
	int rc = options_parse(argc, argv, &o, err, sizeof err);
	if (rc == 0)
		options_free(&o);
	else if (rc == 2 && (err[0] == '\0' || !memchr(err, '\0', sizeof err)))
		abort(); /* a usage error must come with its message */
	reset_getopt();

	/* The parsers on the whole input up to its first NUL. */
	uint32_t u32;
	(void)parse_duration_ms(s, &u32);
	static uint8_t ports[65536 / 8];
	(void)parse_port_list(s, ports);
	(void)parse_state_list(s, &u32);
	(void)parse_flag_list(s, &u32);
	pid_t *pids = NULL;
	size_t npids = 0;
	(void)parse_pid_list(s, &pids, &npids);
	free(pids);
	uint64_t u64;
	(void)parse_uint(s, 0, UINT64_MAX, &u64);
	double rate;
	(void)parse_rate(s, &rate);
	struct sockaddr_storage ss;
	socklen_t sslen;
	(void)parse_listen_addr(s, &ss, &sslen);

	free(s);
	return 0;
}
