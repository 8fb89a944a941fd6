/*
 * One option table behind everything that lists options: the table as
 * the binary prints it (sockaudit --dump-options) must agree with the
 * man page's OPTIONS entries (every option, letter, metavar and
 * section), the README's option table and --help; and the generated
 * completions are loaded into real shells and asked: bash through
 * COMP_WORDS/COMP_CWORD with bash-completion loaded, zsh on a
 * pseudo-terminal with compinit, keys typed and the edited line read
 * back.  Options, enumerated values (after commas too), PIDs and
 * /run/netns names are completed.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/nstest.h"
#include "lib/testlib.h"
#include "option_table.h"
#include "lib/runsuite.h"

#define MAX_ROWS 64
#define MAX_WORDS 16

/* One line of --dump-options. */
struct opt_row {
	char *name;	 /* "--pid", or NULL */
	char *letter;	 /* "-p", or NULL */
	char *metavar;	 /* NULL without a value */
	char *complete;	 /* none, value, enum, list, pids, netns, file */
	char *values;	 /* "a,b,c" or NULL */
	char *section;
	char *summary;
};

static struct opt_row rows[MAX_ROWS];
static size_t nrows;
static char *dump_text;

/* The namespace main made for the --netns completion, or "". */
static char netns_name[32];

static char *field_or_null(char *f)
{
	return strcmp(f, "-") ? f : NULL;
}

static char *dashed(const char *prefix, const char *f)
{
	char *s;

	if (!strcmp(f, "-"))
		return NULL;
	ck_assert(asprintf(&s, "%s%s", prefix, f) > 0);
	return s;
}

/* Read the table from the binary under test (once per test process). */
static void load_dump(void)
{
	struct run_result r;
	char *line, *save = NULL;

	if (dump_text)
		return;
	run_sockaudit(&r, NULL, "--dump-options", NULL);
	ck_assert_msg(r.status == 0 && r.err_len == 0, "--dump-options: %s",
		      run_describe(&r));
	dump_text = strdup(r.out);
	run_result_free(&r);
	for (line = strtok_r(dump_text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f[7], *fs = NULL;
		int n = 0;

		ck_assert_msg(nrows < MAX_ROWS, "more than %d options", MAX_ROWS);
		for (char *p = strtok_r(line, "\t", &fs); p; p = strtok_r(NULL, "\t", &fs)) {
			if (n < 7)
				f[n] = p;
			n++;
		}
		ck_assert_msg(n == 7, "dump line %zu: %d fields", nrows + 1, n);
		rows[nrows] = (struct opt_row){ dashed("--", f[0]), dashed("-", f[1]),
						field_or_null(f[2]), f[3],
						field_or_null(f[4]), f[5], f[6] };
		ck_assert_msg(rows[nrows].name || rows[nrows].letter,
			      "dump line %zu: no name", nrows + 1);
		nrows++;
	}
	ck_assert_msg(nrows >= 20, "only %zu options dumped", nrows);
}

/* The option's spelling used in messages. */
static const char *row_key(const struct opt_row *o)
{
	return o->name ? o->name : o->letter;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	size_t len = 0;

	ck_assert_msg(f, "%s: %s", path, strerror(errno));
	ck_assert(getdelim(&s, &len, '\0', f) >= 0);
	fclose(f);
	return s;
}

/* A file of the source tree, from $TEST_DATA (tests/data). */
static char *tree_path(const char *rel)
{
	char *s;

	ck_assert(asprintf(&s, "%s/../../%s", test_env_dir("TEST_DATA", "tests/data"),
			   rel) > 0);
	return s;
}

/* One documented option heading: its spellings and its metavar. */
struct heading {
	char text[160];
	char *words[4];
	int nwords;
	char *metavar;	     /* NULL: none */
	char section[64];
};

/*
 * Split a plain heading "-p, --pid PID[,PID...]" or "-4, -6" into its
 * option words and metavar (in place).
 */
static void split_heading(struct heading *h)
{
	char *p = h->text;

	h->nwords = 0;
	h->metavar = NULL;
	while (*p == '-' && h->nwords < 4) {
		h->words[h->nwords++] = p;
		p += strcspn(p, ", ");
		if (!strncmp(p, ", ", 2)) {
			*p = '\0';
			p += 2;
		} else if (*p == ' ') {
			*p = '\0';
			h->metavar = p + 1;
			return;
		}
	}
}

/* Append a roff argument list's text to out, the macro's fonts dropped
 * (".BR \-p ", " \-\-pid" is "-p, --pid"). */
static void roff_plain(const char *line, char *out, size_t len)
{
	static const char *const esc[][2] = {
		{ "\\-", "-" }, { "\\fB", "" }, { "\\fI", "" }, { "\\fR", "" },
		{ "\\fP", "" }, { "\\(dq", "\"" }, { "\\&", "" }, { "\\~", " " },
	};
	const char *p = line + strcspn(line, " ");
	bool join = strncmp(line, ".B ", 3) && strncmp(line, ".I ", 3);
	size_t n = 0, k;

	while (*p == ' ')
		p++;
	while (*p && n + 1 < len) {
		if (*p == '"') {
			for (p++; *p && *p != '"' && n + 1 < len; p++)
				out[n++] = *p;
			if (*p)
				p++;
		} else if (*p == ' ') {
			while (*p == ' ')
				p++;
			if (!join && *p && n + 1 < len)
				out[n++] = ' ';
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = '\0';
	for (k = 0; k < sizeof(esc) / sizeof(esc[0]); k++) {
		char *at;

		while ((at = strstr(out, esc[k][0]))) {
			size_t from = strlen(esc[k][0]), to = strlen(esc[k][1]);

			memcpy(at, esc[k][1], to);
			memmove(at + to, at + from, strlen(at + from) + 1);
		}
	}
}

/* The man page's OPTIONS entries: the line after each .TP. */
static int man_headings(struct heading *h, int max)
{
	char *path = tree_path("man/sockaudit.8"), *text = read_file(path);
	char *line, *save = NULL, section[64] = "";
	bool in_options = false, after_tp = false;
	int n = 0;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, ".SH ", 4)) {
			in_options = !strcmp(line, ".SH OPTIONS");
			continue;
		}
		if (!in_options)
			continue;
		if (!strncmp(line, ".SS ", 4))
			snprintf(section, sizeof(section), "%s", line + 4);
		else if (!strcmp(line, ".TP"))
			after_tp = true;
		else if (after_tp) {
			after_tp = false;
			ck_assert_msg(n < max, "too many man entries");
			roff_plain(line, h[n].text, sizeof(h[n].text));
			snprintf(h[n].section, sizeof(h[n].section), "%s", section);
			split_heading(&h[n]);
			ck_assert_msg(h[n].nwords > 0, "man page: .TP entry '%s' names no option",
				      h[n].text);
			n++;
		}
	}
	free(text);
	free(path);
	return n;
}

/* The README's option table: every `...` in a row's first cell. */
static int readme_headings(struct heading *h, int max)
{
	char *path = tree_path("README.md"), *text = read_file(path);
	char *line, *save = NULL;
	bool in_options = false;
	int n = 0;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p, *end;

		if (!strncmp(line, "## ", 3))
			in_options = !strcmp(line, "## Options");
		if (!in_options || strncmp(line, "| `", 3))
			continue;
		end = strstr(line, "` | ");
		ck_assert_msg(end, "README: row '%s' without a first cell", line);
		end[1] = '\0';
		for (p = line + 2; (p = strchr(p, '`')); p++) {
			char *close = strchr(p + 1, '`');
			size_t k = 0;

			ck_assert(close && n < max);
			for (p++; p < close && k + 1 < sizeof(h[n].text); p++)
				if (!(p[0] == '\\' && p[1] == '|'))
					h[n].text[k++] = *p;
			h[n].text[k] = '\0';
			h[n].section[0] = '\0';
			split_heading(&h[n]);
			ck_assert_msg(h[n].nwords > 0, "README: '%s' names no option", h[n].text);
			n++;
		}
	}
	free(text);
	free(path);
	return n;
}

static const struct heading *find_heading(const struct heading *h, int n, const char *word)
{
	for (int i = 0; i < n; i++)
		for (int k = 0; k < h[i].nwords; k++)
			if (!strcmp(h[i].words[k], word))
				return &h[i];
	return NULL;
}

static bool heading_has(const struct heading *h, const char *word)
{
	for (int k = 0; k < h->nwords; k++)
		if (!strcmp(h->words[k], word))
			return true;
	return false;
}

static bool row_spells(const char *word)
{
	for (size_t i = 0; i < nrows; i++)
		if ((rows[i].name && !strcmp(rows[i].name, word)) ||
		    (rows[i].letter && !strcmp(rows[i].letter, word)))
			return true;
	return false;
}

/*
 * Every option of the table documented in `doc` under one heading with
 * its letter and metavar (and section, when the document has them), and
 * nothing documented that the table does not have.
 */
static void check_doc(const char *doc, const struct heading *h, int n)
{
	for (size_t i = 0; i < nrows; i++) {
		const struct opt_row *o = &rows[i];
		const struct heading *e = find_heading(h, n, row_key(o));

		ck_assert_msg(e, "%s: option %s is missing", doc, row_key(o));
		ck_assert_msg(!o->letter || heading_has(e, o->letter),
			      "%s: %s is documented without its letter %s", doc, row_key(o),
			      o->letter);
		ck_assert_msg(!e->metavar == !o->metavar &&
			      (!o->metavar || !strcmp(e->metavar, o->metavar)),
			      "%s: %s takes '%s' in the table but '%s' here", doc, row_key(o),
			      o->metavar ? o->metavar : "(no value)",
			      e->metavar ? e->metavar : "(no value)");
		ck_assert_msg(!e->section[0] || !strcmp(e->section, o->section),
			      "%s: %s is under '%s', the table says '%s'", doc, row_key(o),
			      e->section, o->section);
	}
	for (int i = 0; i < n; i++)
		for (int k = 0; k < h[i].nwords; k++)
			ck_assert_msg(row_spells(h[i].words[k]),
				      "%s documents %s, which the option table does not have",
				      doc, h[i].words[k]);
}

/*
 * The rows themselves: names and letters unique, and a field wide
 * enough for what the kind stores there (store_uint writes 1, 4 or 8
 * bytes; a bound past the field would be cut).
 */
START_TEST(test_table_rows)
{
	for (size_t i = 0; i < opt_table_len; i++) {
		const struct opt_def *d = &opt_table[i];
		const char *key = d->name ? d->name : "(letter)";

		ck_assert_msg(d->name || d->letter, "row %zu: no name", i);
		ck_assert_msg(d->help || (i > 0 && !d->name && d->letter),
			      "row %zu: only a letter-only row may share a line", i);
		for (size_t k = 0; k < i; k++) {
			ck_assert_msg(!d->name || !opt_table[k].name ||
				      strcmp(d->name, opt_table[k].name), "--%s twice", d->name);
			ck_assert_msg(!d->letter || d->letter != opt_table[k].letter,
				      "-%c twice", d->letter);
		}
		ck_assert_msg((d->kind == KIND_SET || d->kind == KIND_OR) == !d->metavar,
			      "%s: a metavar exactly when it takes a value", key);
		if (d->kind == KIND_SET || d->kind == KIND_UINT || d->kind == KIND_ENUM ||
		    d->kind == KIND_DURATION)
			ck_assert_msg(d->size == 1 || d->size == 4 || d->size == 8,
				      "%s: field of %zu bytes", key, d->size);
		if (d->kind == KIND_OR)
			ck_assert_msg(d->size == sizeof(unsigned), "%s: field of %zu bytes",
				      key, d->size);
		if (d->kind == KIND_UINT)
			ck_assert_msg(d->size == 8 || d->max <= UINT32_MAX, "%s: max %llu in %zu bytes",
				      key, (unsigned long long)d->max, d->size);
	}
}
END_TEST

START_TEST(test_man_page)
{
	struct heading h[MAX_ROWS];
	int n;

	load_dump();
	n = man_headings(h, MAX_ROWS);
	check_doc("man page OPTIONS", h, n);
}
END_TEST

START_TEST(test_readme)
{
	struct heading h[MAX_ROWS];
	int n;

	load_dump();
	n = readme_headings(h, MAX_ROWS);
	check_doc("README option table", h, n);
}
END_TEST

/* Whether text holds word with no word character ([-a-z0-9]) either side. */
static bool has_word(const char *text, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = text; (p = strstr(p, word)); p++) {
		char before = p == text ? ' ' : p[-1], after = p[len];

		if (!strchr("-abcdefghijklmnopqrstuvwxyz0123456789", before) &&
		    !strchr("-abcdefghijklmnopqrstuvwxyz0123456789", after ? after : ' '))
			return true;
	}
	return false;
}

/* text with every run of spaces and newlines made one space (in place). */
static char *squeeze(char *text)
{
	char *to = text;

	for (const char *p = text; *p; p++)
		if (!strchr(" \n", *p) || (to > text && to[-1] != ' '))
			*to++ = strchr(" \n", *p) ? ' ' : *p;
	*to = '\0';
	return text;
}

START_TEST(test_help)
{
	struct run_result r;

	load_dump();
	run_sockaudit(&r, NULL, "--help", NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	squeeze(r.out);
	for (size_t i = 0; i < nrows; i++) {
		const struct opt_row *o = &rows[i];
		char *spelled;

		ck_assert_msg(!o->letter || has_word(r.out, o->letter),
			      "--help does not mention %s", o->letter);
		if (!o->name)
			continue;
		ck_assert(asprintf(&spelled, "%s%s%s", o->name, o->metavar ? " " : "",
				   o->metavar ? o->metavar : "") > 0);
		ck_assert_msg(strstr(r.out, spelled), "--help does not show '%s'", spelled);
		ck_assert_msg(strstr(r.out, o->summary), "--help lacks %s's '%s'", o->name,
			      o->summary);
		free(spelled);
	}
	ck_assert_msg(!strstr(r.out, "dump-options"), "--help shows the hidden --dump-options");
	/* An enumerated value's metavar lists the values ("table|json|..."). */
	for (size_t i = 0; i < nrows; i++) {
		char *vals;

		if (strcmp(rows[i].complete, "enum"))
			continue;
		ck_assert(rows[i].values && rows[i].metavar);
		vals = strdup(rows[i].values);
		for (char *c = vals; *c; c++)
			if (*c == ',')
				*c = '|';
		ck_assert_msg(!strcmp(vals, rows[i].metavar), "%s: metavar %s, values %s",
			      row_key(&rows[i]), rows[i].metavar, rows[i].values);
		free(vals);
	}
	run_result_free(&r);
}
END_TEST

/*
 * Ask bash: COMP_LINE is `line`, COMP_WORDS its words split as readline
 * does (at spaces, and around '='), the cursor at the end; the function
 * that `complete -p sockaudit` names fills COMPREPLY, printed one a line
 * into r->out.
 */
static void bash_complete(const char *line, struct run_result *r)
{
	static const char script[] =
		". /usr/share/bash-completion/bash_completion || exit 3\n"
		". \"$1\" || exit 3\n"
		"COMP_LINE=$2; COMP_POINT=${#COMP_LINE}; shift 2\n"
		"COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1))\n"
		"spec=$(complete -p sockaudit) || exit 4\n"
		"f=${spec#*-F }; f=${f%% *}\n"
		"\"$f\" sockaudit \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\"\n"
		"(( ${#COMPREPLY[@]} == 0 )) || printf '%s\\n' \"${COMPREPLY[@]}\"\n";
	const char *argv[8 + 2 * MAX_WORDS] = { "bash", "--norc", "--noprofile", "-c",
						script, "bash" };
	char *file = tree_path("completions/sockaudit.bash");
	char *copy = strdup(line), *p = copy, *w;
	int n = 6;

	argv[n++] = file;
	argv[n++] = line;
	while ((w = strsep(&p, " "))) {
		char *eq = strchr(w, '=');

		ck_assert(n + 3 < (int)(sizeof(argv) / sizeof(argv[0])));
		if (eq && w[0] == '-') {
			*eq = '\0';
			argv[n++] = w;
			argv[n++] = "=";
			w = eq + 1;
		}
		argv[n++] = w;
	}
	argv[n] = NULL;
	ck_assert_msg(run_cmd(argv, NULL, RUN_TIMEOUT_MS, r) == 0, "bash did not start");
	ck_assert_msg(r->status == 0, "bash completing '%s': %s", line, run_describe(r));
	free(copy);
	free(file);
}

static bool has_line(const char *text, const char *line)
{
	size_t len = strlen(line);

	for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
		if (!strncmp(p, line, len) && p[len] == '\n')
			return true;
		if (!strchr(p, '\n'))
			break;
	}
	return false;
}

/* A completion query and what it must answer: these lines, and this
 * many in all (-1: any number). */
struct comp_row {
	const char *line;
	const char *want[5];
	int count;
};

static const struct comp_row bash_rows[] = {
	{ "sockaudit --st", { "--state" }, 1 },
	{ "sockaudit -j --li", { "--list", "--listen" }, 2 },
	{ "sockaudit --state listen,es", { "listen,established" }, 1 },
	{ "sockaudit -s close-wait,listen,fin", { "close-wait,listen,fin-wait-1",
						  "close-wait,listen,fin-wait-2" }, 2 },
	{ "sockaudit --state=listen,c", { "listen,close", "listen,close-wait",
					  "listen,closing" }, 3 },
	{ "sockaudit -F idle,st", { "idle,stalled" }, 1 },
	{ "sockaudit -f p", { "prometheus" }, 1 },
	{ "sockaudit --format=j", { "json" }, 1 },
	{ "sockaudit --source n", { "netlink" }, 1 },
	/* A value without completion offers nothing (not file names). */
	{ "sockaudit --port ", { NULL }, 0 },
	{ "sockaudit --idle 1", { NULL }, 0 },
	/* An option without a value leaves the next word to options. */
	{ "sockaudit --json --ma",
	  { "--max", "--max-peers", "--max-processes", "--max-growth", "--max-requests" }, 5 },
};

static void check_answer(const char *shell, const struct comp_row *row, const char *out)
{
	for (int k = 0; k < 4 && row->want[k]; k++)
		ck_assert_msg(has_line(out, row->want[k]), "%s '%s': no '%s' in:\n%s", shell,
			      row->line, row->want[k], out);
	ck_assert_msg(row->count < 0 || count_lines(out) == row->count,
		      "%s '%s': %d answers, expected %d:\n%s", shell, row->line,
		      count_lines(out), row->count, out);
}

START_TEST(test_bash_rows)
{
	struct run_result r;

	bash_complete(bash_rows[_i].line, &r);
	check_answer("bash", &bash_rows[_i], r.out);
	run_result_free(&r);
}
END_TEST

/*
 * The options bash offers are the table's: "--" gives every long name
 * and no other, "-" adds the letters; every enumerated value list is
 * offered whole after its option, by either spelling.
 */
START_TEST(test_bash_table)
{
	struct run_result r;
	int longs = 0, all = 0;

	load_dump();
	bash_complete("sockaudit --", &r);
	for (size_t i = 0; i < nrows; i++) {
		if (rows[i].name) {
			longs++;
			ck_assert_msg(has_line(r.out, rows[i].name), "bash does not offer %s",
				      rows[i].name);
		}
		all += !!rows[i].name + !!rows[i].letter;
	}
	ck_assert_msg(count_lines(r.out) == longs, "bash offers %d long options, the table has %d:\n%s",
		      count_lines(r.out), longs, r.out);
	run_result_free(&r);
	bash_complete("sockaudit -", &r);
	ck_assert_msg(count_lines(r.out) == all, "bash offers %d options for '-', the table has %d",
		      count_lines(r.out), all);
	run_result_free(&r);

	for (size_t i = 0; i < nrows; i++) {
		const char *spell[2] = { rows[i].name, rows[i].letter };

		if (!rows[i].values)
			continue;
		for (int s = 0; s < 2; s++) {
			char *line, *vals, *v, *save = NULL;
			int n = 0;

			if (!spell[s])
				continue;
			ck_assert(asprintf(&line, "sockaudit %s ", spell[s]) > 0);
			bash_complete(line, &r);
			vals = strdup(rows[i].values);
			for (v = strtok_r(vals, ",", &save); v; v = strtok_r(NULL, ",", &save), n++)
				ck_assert_msg(has_line(r.out, v), "bash '%s': no %s", line, v);
			ck_assert_msg(count_lines(r.out) == n, "bash '%s': %d values, table %d",
				      line, count_lines(r.out), n);
			free(vals);
			free(line);
			run_result_free(&r);
		}
	}
}
END_TEST

/* A child that waits to be killed (or for this process to end: a
 * failed assertion leaves nothing behind); its PID as text in buf. */
static pid_t spawn_sleeper(char buf[16])
{
	pid_t parent = getpid(), pid = fork();

	ck_assert(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		for (;;)
			pause();
	}
	snprintf(buf, 16, "%d", (int)pid);
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

START_TEST(test_bash_pid_netns)
{
	struct run_result r;
	char pid[16], *line, *want;
	pid_t child = spawn_sleeper(pid);

	ck_assert(asprintf(&line, "sockaudit --pid %s", pid) > 0);
	bash_complete(line, &r);
	ck_assert_msg(has_line(r.out, pid), "bash '%s': PID not offered:\n%s", line, r.out);
	run_result_free(&r);
	free(line);
	ck_assert(asprintf(&line, "sockaudit -p 1,%s", pid) > 0);
	ck_assert(asprintf(&want, "1,%s", pid) > 0);
	bash_complete(line, &r);
	ck_assert_msg(has_line(r.out, want), "bash '%s': no '%s':\n%s", line, want, r.out);
	run_result_free(&r);
	free(line);
	free(want);
	reap(child);

	if (!netns_name[0]) {
		fprintf(stderr, "test_completion: no namespace made: --netns names not tried\n");
		return;
	}
	ck_assert(asprintf(&line, "sockaudit --netns %.*s", 6, netns_name) > 0);
	bash_complete(line, &r);
	ck_assert_msg(has_line(r.out, netns_name), "bash '%s': no %s:\n%s", line, netns_name,
		      r.out);
	run_result_free(&r);
	free(line);
	ck_assert(asprintf(&line, "sockaudit --netns /run/netns/%.*s", 6, netns_name) > 0);
	ck_assert(asprintf(&want, "/run/netns/%s", netns_name) > 0);
	bash_complete(line, &r);
	ck_assert_msg(has_line(r.out, want), "bash '%s': no path %s:\n%s", line, want, r.out);
	run_result_free(&r);
	free(line);
	free(want);
}
END_TEST

/* An interactive zsh on a pseudo-terminal, the completion loaded. */
struct zsh {
	pid_t pid;
	int fd;
	char dir[64];
	char *screen;	/* what the terminal showed since the last zsh_type */
	size_t screen_len;
};

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_msg(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	ck_assert(fclose(f) == 0);
}

/* Read what the terminal shows for up to ms, into z->screen. */
static void zsh_drain(struct zsh *z, int ms)
{
	struct pollfd p = { .fd = z->fd, .events = POLLIN };
	char buf[4096];
	ssize_t n;

	while (poll(&p, 1, ms) > 0) {
		n = read(z->fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		z->screen = realloc(z->screen, z->screen_len + (size_t)n + 1);
		ck_assert(z->screen);
		memcpy(z->screen + z->screen_len, buf, (size_t)n);
		z->screen_len += (size_t)n;
		z->screen[z->screen_len] = '\0';
		ms = 50;
	}
}

/* Wait (reading the terminal) until file name exists in z->dir. */
static bool zsh_wait_file(struct zsh *z, const char *name, int seconds)
{
	char path[160];
	long long end = test_now_ms() + seconds * 1000LL;

	snprintf(path, sizeof(path), "%s/%s", z->dir, name);
	while (access(path, F_OK) != 0) {
		if (test_now_ms() > end)
			return false;
		zsh_drain(z, 100);
	}
	return true;
}

/* zsh's directory, named by main and removed by it after the tests
 * (Check's forked test ends at a failed assertion without cleaning). */
static char zsh_dir[64];

static int zsh_remove_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", zsh_dir);
	return system(cmd);
}

static void zsh_start(struct zsh *z)
{
	char *comp = tree_path("completions/_sockaudit"), *text = read_file(comp);
	char fp[96], *rc;

	memset(z, 0, sizeof(*z));
	snprintf(z->dir, sizeof(z->dir), "%s", zsh_dir);
	ck_assert(zsh_remove_dir() == 0);
	ck_assert_msg(mkdir(z->dir, 0700) == 0, "%s: %s", z->dir, strerror(errno));
	snprintf(fp, sizeof(fp), "%s/fp", z->dir);
	ck_assert(mkdir(fp, 0700) == 0);
	write_file(fp, "_sockaudit", text);
	write_file(z->dir, ".zshenv", "unsetopt GLOBAL_RCS\n");
	/* ^X writes the edited line to a file and clears it; ^Y lists the
	 * choices (with their descriptions) for the word at the cursor. */
	ck_assert(asprintf(&rc,
			   "fpath=(%s $fpath)\n"
			   "autoload -Uz compinit && compinit -u -D\n"
			   "unsetopt beep\n"
			   "LISTMAX=100000\n" /* list without asking first */
			   "dumpbuf() { print -r -- \"$BUFFER\" >| %s/out.tmp && "
			   "mv %s/out.tmp %s/out; BUFFER= }\n"
			   "zle -N dumpbuf; bindkey '^X' dumpbuf; bindkey '^Y' list-choices\n"
			   "print ready >| %s/ready\n",
			   fp, z->dir, z->dir, z->dir, z->dir) > 0);
	write_file(z->dir, ".zshrc", rc);
	free(rc);
	free(text);
	free(comp);

	z->pid = forkpty(&z->fd, NULL, NULL, NULL);
	ck_assert_msg(z->pid >= 0, "forkpty: %s", strerror(errno));
	if (z->pid == 0) {
		setenv("ZDOTDIR", z->dir, 1);
		setenv("TERM", "xterm", 1);
		setenv("HISTFILE", "/dev/null", 1);
		execlp("zsh", "zsh", "-i", (char *)NULL);
		_exit(127);
	}
	ck_assert_msg(zsh_wait_file(z, "ready", 30), "zsh did not start: %s",
		      z->screen ? z->screen : "(no output)");
}

/* Type keys, then ^X: the line as zsh edited it (malloc'd, without its
 * newline); z->screen holds what the terminal showed meanwhile. */
static char *zsh_type(struct zsh *z, const char *keys)
{
	char out[160], *line, *nl;
	size_t len = strlen(keys);

	snprintf(out, sizeof(out), "%s/out", z->dir);
	unlink(out);
	z->screen_len = 0;
	ck_assert(write(z->fd, keys, len) == (ssize_t)len);
	ck_assert(write(z->fd, "\x18", 1) == 1);
	ck_assert_msg(zsh_wait_file(z, "out", 20), "zsh: no line after typing '%s'", keys);
	line = read_file(out);
	nl = strchr(line, '\n');
	if (nl)
		*nl = '\0';
	return line;
}

static void zsh_stop(struct zsh *z)
{
	reap(z->pid);
	close(z->fd);
	free(z->screen);
	ck_assert_msg(zsh_remove_dir() == 0, "%s not removed", z->dir);
}

/* Keys typed into zsh (\t completes) and the line it must then hold. */
static const struct {
	const char *keys;
	const char *line;
} zsh_rows[] = {
	{ "sockaudit --st\t", "sockaudit --state=" },
	{ "sockaudit -j --all-n\t", "sockaudit -j --all-netns " },
	{ "sockaudit --format pro\t", "sockaudit --format prometheus " },
	{ "sockaudit -f j\t", "sockaudit -f json " },
	{ "sockaudit --source=ne\t", "sockaudit --source=netlink " },
	{ "sockaudit -s listen,es\t", "sockaudit -s listen,established," },
	{ "sockaudit --flag idle,de\t", "sockaudit --flag idle,dead," },
};

START_TEST(test_zsh)
{
	struct zsh z;
	char pid[16], *keys, *line;
	pid_t child;

	zsh_start(&z);
	for (size_t i = 0; i < sizeof(zsh_rows) / sizeof(zsh_rows[0]); i++) {
		line = zsh_type(&z, zsh_rows[i].keys);
		ck_assert_msg(!strcmp(line, zsh_rows[i].line), "zsh: '%s' gave '%s', expected '%s'",
			      zsh_rows[i].keys, line, zsh_rows[i].line);
		free(line);
	}
	/* A PID is listed with its command name. */
	child = spawn_sleeper(pid);
	ck_assert(asprintf(&keys, "sockaudit --pid 1,%s\x19", pid) > 0);
	free(zsh_type(&z, keys));
	ck_assert_msg(z.screen && strstr(z.screen, pid) && strstr(z.screen, "-- test_completion"),
		      "zsh: PID %s not listed with its command name: %s", pid,
		      z.screen ? z.screen : "(nothing)");
	free(keys);
	reap(child);
	if (netns_name[0]) {
		char *want;

		ck_assert(asprintf(&keys, "sockaudit --netns %.*s\t", 6, netns_name) > 0);
		ck_assert(asprintf(&want, "sockaudit --netns %s ", netns_name) > 0);
		line = zsh_type(&z, keys);
		ck_assert_msg(!strcmp(line, want), "zsh: '%s' gave '%s'", keys, line);
		free(line);
		free(want);
		free(keys);
	}
	zsh_stop(&z);
}
END_TEST

static Suite *completion_suite(void)
{
	Suite *s = suite_create("completion");
	TCase *tc = tcase_create("table");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_table_rows);
	tcase_add_test(tc, test_man_page);
	tcase_add_test(tc, test_readme);
	tcase_add_test(tc, test_help);
	tcase_add_loop_test(tc, test_bash_rows, 0,
			    (int)(sizeof(bash_rows) / sizeof(bash_rows[0])));
	tcase_add_test(tc, test_bash_table);
	tcase_add_test(tc, test_bash_pid_netns);
	tcase_add_test(tc, test_zsh);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	const char *why;
	int failed;

	/* A namespace with a name no other one starts like (6 characters
	 * are typed before completing). */
	if (nstest_available(&why)) {
		snprintf(netns_name, sizeof(netns_name), "q%05dcompl", (int)(getpid() % 100000));
		if (nstest_create(netns_name))
			netns_name[0] = '\0';
	} else {
		fprintf(stderr, "test_completion: %s: --netns names not tried\n", why);
	}
	snprintf(zsh_dir, sizeof(zsh_dir), "/tmp/sockaudit-zsh-%d", (int)getpid());
	failed = run_suite(completion_suite());
	if (zsh_remove_dir() != 0)
		fprintf(stderr, "test_completion: %s not removed\n", zsh_dir);
	nstest_delete_all();
	return failed != 0;
}
