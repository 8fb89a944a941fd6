/*
 * The command line, from the option table (option_table.c):
 * options_parse reads every value with its kind's routine (parse.c) and
 * names the bad one in its message; --help and --dump-options print the
 * table.
 */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "option_table.h"
#include "parse.h"
#include "sockaudit.h"

/* --help's column where the help text starts. */
#define HELP_COL 32

/*
 * The left column of --help for row i: "-p, --pid PID[,PID...]",
 * "    --netns NAME|PATH", and the following rows without help of their
 * own joined ("-4, -6").  Returns the index of the last row used.
 */
static size_t help_heading(size_t i, char *buf, size_t len)
{
	const struct opt_def *d = &opt_table[i];
	size_t n;

	if (d->letter)
		n = (size_t)snprintf(buf, len, "-%c%s", d->letter, d->name ? ", " : "");
	else
		n = (size_t)snprintf(buf, len, "    ");
	if (d->name && n < len)
		n += (size_t)snprintf(buf + n, len - n, "--%s", d->name);
	if (d->metavar && n < len)
		n += (size_t)snprintf(buf + n, len - n, " %s", d->metavar);
	while (i + 1 < opt_table_len && !opt_table[i + 1].help && n < len) {
		i++;
		n += (size_t)snprintf(buf + n, len - n, ", -%c", opt_table[i].letter);
	}
	return i;
}

/* One option's lines of --help: its heading, then its help lines from
 * HELP_COL (the first on the heading's line when it fits). */
static void help_option(FILE *out, const char *heading, const char *help)
{
	int w = fprintf(out, "  %s", heading);
	const char *nl;

	for (;;) {
		if (w <= HELP_COL - 2)
			fprintf(out, "%*s", HELP_COL - w, "");
		else
			fprintf(out, "\n%*s", HELP_COL, "");
		nl = strchr(help, '\n');
		if (!nl)
			break;
		fprintf(out, "%.*s\n", (int)(nl - help), help);
		help = nl + 1;
		w = 0;
	}
	fprintf(out, "%s\n", help);
}

void options_usage(FILE *out)
{
	int section = -1;
	char heading[128];
	size_t i;

	fputs("Usage: sockaudit [OPTION]...\n"
	      "Audit TCP (and with -u, -x UDP and UNIX) sockets: who holds them,\n"
	      "which are in CLOSE-WAIT, idle, stalled or dead, grouped by server\n"
	      "port and client peer.\n",
	      out);
	for (i = 0; i < opt_table_len; i++) {
		const struct opt_def *d = &opt_table[i];

		if (d->hidden)
			continue;
		if ((int)d->section != section) {
			section = (int)d->section;
			fputs("\n", out);
			if (opt_section_note[section])
				fprintf(out, "%s%s:\n", opt_section_title[section],
					opt_section_note[section]);
		}
		i = help_heading(i, heading, sizeof(heading));
		help_option(out, heading, d->help);
	}
	fputs("\n"
	      "Exit status: 0 audit ran and assertions hold, 1 an assertion failed,\n"
	      "2 usage error, 3 the audit could not run.\n"
	      "\n"
	      "Examples: sockaudit --port 8080 --state close_wait --max 0   (CI)\n"
	      "          sockaudit --pid $PID --watch 2s --count 10 --max-growth 0\n"
	      "          sockaudit --pid $(pidof myservice)   (a container's sockets)\n",
	      out);
}

/* How a shell completes each kind's value (see --dump-options). */
static const char *const kind_complete[KIND_COUNT] = {
	[KIND_SET] = "none",	  [KIND_OR] = "none",	  [KIND_UINT] = "value",  [KIND_DURATION] = "value",
	[KIND_RATE] = "value",	  [KIND_ENUM] = "enum",	  [KIND_STATES] = "list",
	[KIND_FLAGS] = "list",	  [KIND_PORTS] = "value", [KIND_PIDS] = "pids",
	[KIND_NETNS] = "netns",	  [KIND_LISTEN] = "value", [KIND_NAMES] = "value",
	[KIND_FILE] = "file",
};

/*
 * A one-line summary of a help text for the zsh completion: up to the
 * first " (", ";" or a ':' that ends a line, lines joined by spaces.
 */
static void help_summary(FILE *out, const char *help)
{
	const char *p;

	for (p = help; *p; p++) {
		if ((p[0] == ' ' && p[1] == '(') || p[0] == ';' ||
		    (p[0] == ':' && (p[1] == '\n' || !p[1])))
			break;
		fputc(*p == '\n' ? ' ' : *p, out);
	}
}

void options_dump(FILE *out)
{
	const char *help = "";
	size_t i;

	for (i = 0; i < opt_table_len; i++) {
		const struct opt_def *d = &opt_table[i];
		const struct opt_value *v;

		if (d->help)
			help = d->help;
		if (d->hidden)
			continue;
		fprintf(out, "%s\t", d->name ? d->name : "-");
		if (d->letter)
			fprintf(out, "%c\t", d->letter);
		else
			fputs("-\t", out);
		fprintf(out, "%s\t%s\t", d->metavar ? d->metavar : "-",
			kind_complete[d->kind]);
		for (v = d->values; v && v->name; v++)
			fprintf(out, "%s%s", v == d->values ? "" : ",", v->name);
		fprintf(out, "%s\t%s\t", d->values ? "" : "-",
			opt_section_title[d->section]);
		help_summary(out, help);
		fputs("\n", out);
	}
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
	o->max_requests = 40;
	o->max_processes = 100;
}

static void names_free(struct name_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void options_free(struct options *o)
{
	names_free(&o->units);
	names_free(&o->containers);
	names_free(&o->pods);
	free(o->pids);
	o->pids = NULL;
	o->npids = 0;
	free(o->netns);
	o->netns = NULL;
	o->nnetns = 0;
}

/* The option as the user may have written it, for messages: its long
 * name when it has one. */
static const char *opt_name(const struct opt_def *d, char buf[40])
{
	if (d->name)
		snprintf(buf, 40, "--%s", d->name);
	else
		snprintf(buf, 40, "-%c", d->letter);
	return buf;
}

/* "table, json or prometheus" from a list of values. */
static void values_text(const struct opt_value *v, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (; v->name && n < len; v++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s",
				      n == 0 ? "" : v[1].name ? ", " : " or ", v->name);
}

/* What a value of option d should have been, for the usage message. */
static void expected_text(const struct opt_def *d, char *buf, size_t len)
{
	switch (d->kind) {
	case KIND_UINT:
		if (d->max == UINT64_MAX)
			snprintf(buf, len, "a whole number >= %llu",
				 (unsigned long long)d->min);
		else
			snprintf(buf, len, "a whole number from %llu to %llu",
				 (unsigned long long)d->min, (unsigned long long)d->max);
		return;
	case KIND_DURATION:
		if (d->min)
			snprintf(buf, len, "a duration from %llums to 2147483647ms "
				 "(e.g. 250ms, 2s, 1m)", (unsigned long long)d->min);
		else
			snprintf(buf, len, "a whole number with ms, s, m or h "
				 "(e.g. 500ms, 30s, 5m)");
		return;
	case KIND_RATE:
		snprintf(buf, len, "a number >= 0 (e.g. 0, 1.5)");
		return;
	case KIND_ENUM:
		values_text(d->values, buf, len);
		return;
	case KIND_STATES:
		snprintf(buf, len, "states such as established, close-wait, listen, or all");
		return;
	case KIND_FLAGS:
		snprintf(buf, len, "flags among ");
		values_text(d->values, buf + strlen(buf), len - strlen(buf));
		return;
	case KIND_PORTS:
		snprintf(buf, len, "ports 1-65535");
		return;
	case KIND_PIDS:
		snprintf(buf, len, "PIDs (positive whole numbers)");
		return;
	case KIND_NETNS:
		snprintf(buf, len, "a namespace name or path");
		return;
	case KIND_NAMES:
		snprintf(buf, len, "a comma-separated list of names");
		return;
	case KIND_FILE:
		snprintf(buf, len, "a file name");
		return;
	case KIND_LISTEN:
		snprintf(buf, len, "ADDR:PORT with a numeric address (127.0.0.1:9477, "
			 "[::1]:9477, 0.0.0.0:9477)");
		return;
	case KIND_SET:
	case KIND_OR:
	case KIND_COUNT:
		break;
	}
	snprintf(buf, len, "no value");
}

/*
 * Store a whole number in option d's field by its width: a bool (1
 * byte), an enum, unsigned or uint32_t (4), a uint64_t (8).  The bounds
 * in the table keep v within the field.
 */
static void store_uint(struct options *o, const struct opt_def *d, uint64_t v)
{
	char *field = (char *)o + d->off;
	bool b = v != 0;
	uint32_t v32 = (uint32_t)v;

	if (d->size == sizeof(b))
		memcpy(field, &b, sizeof(b));
	else if (d->size == sizeof(v32))
		memcpy(field, &v32, sizeof(v32));
	else if (d->size == sizeof(v))
		memcpy(field, &v, sizeof(v));
}

static int append_netns(struct options *o, const char *arg)
{
	const char **v;

	if (!*arg)
		return -EINVAL;
	v = realloc(o->netns, (o->nnetns + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	o->netns = v;
	o->netns[o->nnetns++] = arg;
	return 0;
}

/*
 * Append the comma-separated names of arg to *l.  Returns 0, -EINVAL
 * for an empty name, -ENOMEM.
 */
static int append_names(struct name_list *l, const char *arg)
{
	const char *p = arg;

	for (;;) {
		size_t n = strcspn(p, ",");
		char **v;

		if (!n)
			return -EINVAL;
		v = realloc(l->v, (l->n + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->v[l->n] = strndup(p, n);
		if (!l->v[l->n])
			return -ENOMEM;
		l->n++;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

/*
 * Read option d's value arg with its kind's routine into *o.  Returns 0,
 * -EINVAL or -ERANGE for a bad value, -ENOMEM.
 */
static int read_value(struct options *o, const struct opt_def *d, const char *arg)
{
	void *field = (char *)o + d->off;
	const struct opt_value *v;
	uint64_t u;
	uint32_t ms;
	double rate;

	switch (d->kind) {
	case KIND_SET:
		store_uint(o, d, (uint64_t)d->set);
		return 0;
	case KIND_OR: {
		unsigned bits;

		memcpy(&bits, field, sizeof(bits));
		bits |= (unsigned)d->set;
		memcpy(field, &bits, sizeof(bits));
		return 0;
	}
	case KIND_UINT:
		if (parse_uint(arg, d->min, d->max, &u))
			return -EINVAL;
		store_uint(o, d, u);
		return 0;
	case KIND_DURATION:
		if (parse_duration_ms(arg, &ms) || ms < d->min)
			return -EINVAL;
		store_uint(o, d, ms);
		return 0;
	case KIND_RATE:
		if (parse_rate(arg, &rate))
			return -EINVAL;
		memcpy(field, &rate, sizeof(rate));
		return 0;
	case KIND_ENUM:
		for (v = d->values; v->name; v++)
			if (!strcmp(arg, v->name)) {
				store_uint(o, d, (uint64_t)v->value);
				return 0;
			}
		return -EINVAL;
	case KIND_STATES:
		return parse_state_list(arg, field);
	case KIND_FLAGS:
		return parse_flag_list(arg, field);
	case KIND_PORTS:
		return parse_port_list(arg, field);
	case KIND_PIDS:
		return parse_pid_list(arg, &o->pids, &o->npids);
	case KIND_NETNS:
		return append_netns(o, arg);
	case KIND_NAMES:
		return append_names(field, arg);
	case KIND_FILE:
		if (!*arg)
			return -EINVAL;
		memcpy(field, &arg, sizeof(arg));
		return 0;
	case KIND_LISTEN:
		if (parse_listen_addr(arg, &o->listen_addr, &o->listen_len))
			return -EINVAL;
		o->listen_arg = arg;
		return 0;
	case KIND_COUNT:
		break;
	}
	return -EINVAL;
}

/* One option with its argument.  Returns 0, 2 (usage) or -ENOMEM. */
static int apply(struct options *o, const struct opt_def *d, const char *arg,
		 char *err, size_t errlen)
{
	bool given = true;
	int rc;

	rc = read_value(o, d, arg);
	if (rc == -ENOMEM)
		return rc;
	if (rc) {
		char name[40], expected[160];

		expected_text(d, expected, sizeof(expected));
		snprintf(err, errlen, "%s '%s': expected %s", opt_name(d, name), arg,
			 expected);
		return 2;
	}
	if (d->has)
		memcpy((char *)o + d->has - 1, &given, sizeof(given));
	return 0;
}

/*
 * getopt_long's tables from opt_table: long options return 256 + their
 * row, short ones their letter.  `shorts` holds 2 + 2 * OPT_TABLE_MAX + 1.
 */
static void getopt_tables(struct option *longs, char *shorts)
{
	size_t i, n = 0, s = 0;

	shorts[s++] = ':'; /* a missing value is ':', not '?' */
	for (i = 0; i < opt_table_len; i++) {
		const struct opt_def *d = &opt_table[i];
		int has_arg = d->kind == KIND_SET || d->kind == KIND_OR ?
				      no_argument : required_argument;

		if (d->name)
			longs[n++] = (struct option){ d->name, has_arg, NULL, 256 + (int)i };
		if (d->letter) {
			shorts[s++] = (char)d->letter;
			if (has_arg == required_argument)
				shorts[s++] = ':';
		}
	}
	shorts[s] = '\0';
	longs[n] = (struct option){ NULL, 0, NULL, 0 };
}

/* The row getopt_long's return value c stands for, or NULL. */
static const struct opt_def *opt_row(int c)
{
	size_t i;

	if (c >= 256)
		return (size_t)(c - 256) < opt_table_len ? &opt_table[c - 256] : NULL;
	for (i = 0; i < opt_table_len; i++)
		if (opt_table[i].letter == c)
			return &opt_table[i];
	return NULL;
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
	else if (o->web_config && !o->has_listen)
		msg = "--web-config needs --listen";
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
	struct option longs[OPT_TABLE_MAX + 1];
	char shorts[2 + 2 * OPT_TABLE_MAX + 1];
	int c, rc = 0, word_at = 1;

	defaults(o);
	getopt_tables(longs, shorts);
	opterr = 0; /* messages are ours, with our prefix */
	optind = 0; /* glibc: 0 re-initialises getopt fully (1 does not) */
	/* word_at: the word getopt is reading, for messages (optind has
	 * already moved past it, except inside a cluster like -lx). */
	while (word_at = optind ? optind : 1,
	       (c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
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
		const struct opt_def *d = opt_row(c);

		if (!d) {
			snprintf(err, errlen, "internal error: option %d", c);
			rc = 2;
			break;
		}
		rc = apply(o, d, optarg, err, errlen);
		if (rc)
			break;
	}
	if (!rc && optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		rc = 2;
	}
	/* Kinds combine; none given is TCP alone, as before -t/-u/-x. */
	if (!o->protocols)
		o->protocols = PROTO_BIT(PROTO_TCP);
	if (!rc && o->action == ACTION_AUDIT)
		rc = check_combinations(o, err, errlen);
	if (rc)
		options_free(o);
	return rc;
}
