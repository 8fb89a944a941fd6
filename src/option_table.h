/*
 * The option table: every command-line option is one row of opt_table
 * (option_table.c).  options.c builds getopt_long's tables, --help and
 * the --dump-options listing (which the completions are generated from
 * and the man page is checked against) from it.  Private to options.c,
 * option_table.c and the tests.
 */
#ifndef OPTION_TABLE_H
#define OPTION_TABLE_H

#include <stddef.h>
#include <stdint.h>

/*
 * What an option's value is, and so which routine reads it (options.c,
 * read_value) and how a shell completes it.
 */
enum opt_kind {
	KIND_SET,      /* no value: stores `set` in the field */
	KIND_OR,       /* no value: ors `set` into the (unsigned) field */
	KIND_UINT,     /* a whole number in [min, max] (parse_uint) */
	KIND_DURATION, /* a DURATION in ms, at least `min` (parse_duration_ms) */
	KIND_RATE,     /* a decimal number >= 0 (parse_rate), a double */
	KIND_ENUM,     /* one of `values`, stored as its `value` */
	KIND_STATES,   /* state names or "all": a uint32_t mask */
	KIND_FLAGS,    /* flag names: a uint32_t mask */
	KIND_PORTS,    /* ports: bits or-ed into a 65536-bit array */
	KIND_PIDS,     /* PIDs: appended to o->pids */
	KIND_NETNS,    /* a namespace name or path: appended to o->netns */
	KIND_LISTEN,   /* ADDR:PORT: o->listen_addr, listen_len, listen_arg */
	KIND_NAMES,    /* names: appended to a struct name_list */
	KIND_FILE,     /* a file name: the const char * field points at it */
	KIND_COUNT
};

/* The --help and man page sections, in --help's order. */
enum opt_section {
	SEC_SELECTION,
	SEC_NETNS,
	SEC_OUTPUT,
	SEC_TIME,
	SEC_EXPORTER,
	SEC_GENERAL,
	SEC_COUNT
};

/* One enumerated value: its name and what is stored (KIND_ENUM). */
struct opt_value {
	const char *name;
	int value;
};

struct opt_def {
	const char *name;	/* long name without "--"; NULL: a letter only */
	int letter;		/* short option; 0: a long name only */
	enum opt_kind kind;
	const char *metavar;	/* value syntax in --help and the man page */
	/* Enumerated values (KIND_ENUM, and the names a list may hold,
	 * for completion), up to a NULL name. */
	const struct opt_value *values;
	/* --help text, lines separated by '\n'; NULL: this option shares
	 * the previous row's line ("-4, -6"). */
	const char *help;
	enum opt_section section;
	int set;		/* KIND_SET: the value stored */
	size_t off, size;	/* the field of struct options it sets */
	size_t has;		/* offset + 1 of a bool set when given; 0: none */
	uint64_t min, max;	/* KIND_UINT bounds; KIND_DURATION: min */
	int hidden;		/* not in --help, man page or completions */
};

/* Room for getopt_long's tables; option_table.c asserts it is enough. */
#define OPT_TABLE_MAX 64

extern const struct opt_def opt_table[];
extern const size_t opt_table_len;

/* Section titles as --help and the man page's .SS lines spell them, and
 * --help's note after the title (NULL: no header line). */
extern const char *const opt_section_title[SEC_COUNT];
extern const char *const opt_section_note[SEC_COUNT];

#endif
