/* A strict reader of the Prometheus text format (see prom.h). */
#include "prom.h"

#include <check.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether bytes [s, s+n) are valid UTF-8 (RFC 3629). */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t len, k;
		unsigned char lo = 0x80, hi = 0xbf;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2;
		else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			if (c == 0xe0)
				lo = 0xa0;
			if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			if (c == 0xf0)
				lo = 0x90;
			if (c == 0xf4)
				hi = 0x8f;
		} else
			return false;
		if (i + len > n || s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (k = 2; k < len; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		i += len;
	}
	return true;
}

static bool name_start(char c, bool metric)
{
	return isalpha((unsigned char)c) || c == '_' || (metric && c == ':');
}

static bool name_char(char c, bool metric)
{
	return name_start(c, metric) || isdigit((unsigned char)c);
}

/* A metric or label name at *p: returns it (malloc'd) and moves *p. */
static char *read_name(const char **p, bool metric)
{
	const char *s = *p;
	char *out;

	if (!name_start(*s, metric))
		return NULL;
	while (name_char(*s, metric))
		s++;
	out = strndup(*p, (size_t)(s - *p));
	*p = s;
	return out;
}

struct perr {
	char *err;
	size_t len;
	int line;
};

static int perr_fail(struct perr *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int perr_fail(struct perr *e, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(e->err, e->len, "line %d: %s", e->line, msg);
	return -1;
}

/* A quoted label value at *p (after the opening quote): unescaped into
 * a malloc'd string.  NULL on a bad escape or an unterminated value. */
static char *read_value(const char **p, const char *end)
{
	const char *s = *p;
	char *out = malloc((size_t)(end - s) + 1);
	size_t n = 0;

	if (!out)
		return NULL;
	while (s < end && *s != '"') {
		if (*s == '\\') {
			s++;
			if (s >= end || (*s != '\\' && *s != '"' && *s != 'n')) {
				free(out);
				return NULL;
			}
			out[n++] = *s == 'n' ? '\n' : *s;
			s++;
		} else {
			out[n++] = *s++;
		}
	}
	if (s >= end) {
		free(out);
		return NULL;
	}
	out[n] = '\0';
	*p = s + 1;
	return out;
}

static bool is_family(const struct prom_doc *d, const char *name, int upto)
{
	for (int i = 0; i < upto; i++)
		if (!strcmp(d->families[i], name))
			return true;
	return false;
}

static bool same_series(const struct prom_sample *a, const struct prom_sample *b)
{
	if (strcmp(a->name, b->name) || a->nlabels != b->nlabels)
		return false;
	for (int i = 0; i < a->nlabels; i++) {
		bool found = false;

		for (int j = 0; j < b->nlabels && !found; j++)
			found = !strcmp(a->labels[i].name, b->labels[j].name) &&
				!strcmp(a->labels[i].value, b->labels[j].value);
		if (!found)
			return false;
	}
	return true;
}

/* A "# HELP name text" or "# TYPE name type" line. */
static int parse_comment(const char *line, const char *end, struct prom_doc *d,
			 const char **pending_help, struct perr *e)
{
	const char *p = line + 2;
	bool help = !strncmp(p, "HELP ", 5), type = !strncmp(p, "TYPE ", 5);
	char *name;

	if (!help && !type)
		return 0; /* a plain comment */
	p += 5;
	name = read_name(&p, true);
	if (!name)
		return perr_fail(e, "bad metric name after # %s", help ? "HELP" : "TYPE");
	if (help) {
		if (*pending_help) {
			int rc = perr_fail(e, "HELP without TYPE before it");

			free(name);
			return rc;
		}
		if (is_family(d, name, d->nfamilies)) {
			int rc = perr_fail(e, "second HELP for %s", name);

			free(name);
			return rc;
		}
		if (p < end && *p != ' ') {
			int rc = perr_fail(e, "junk after the HELP name");

			free(name);
			return rc;
		}
		*pending_help = line;
		d->families = realloc(d->families, (size_t)(d->nfamilies + 1) * sizeof(char *));
		if (!d->families) {
			int rc = perr_fail(e, "out of memory");

			free(name);
			return rc;
		}
		d->families[d->nfamilies++] = name;
		return 0;
	}
	if (!*pending_help || strcmp(d->families[d->nfamilies - 1], name)) {
		int rc = perr_fail(e, "TYPE for %s without its HELP line before", name);

		free(name);
		return rc;
	}
	if (*p != ' ') {
		free(name);
		return perr_fail(e, "TYPE without a type");
	}
	p++;
	/* Gauges, and the exporter's own counters (named ..._total). */
	if (!((size_t)(end - p) == 5 && !strncmp(p, "gauge", 5)) &&
	    !((size_t)(end - p) == 7 && !strncmp(p, "counter", 7) && strlen(name) > 6 &&
	      !strcmp(name + strlen(name) - 6, "_total"))) {
		int rc = perr_fail(e, "type '%.*s' of %s: sockaudit exports gauges and "
				   "..._total counters", (int)(end - p), p, name);

		free(name);
		return rc;
	}
	free(name);
	*pending_help = NULL;
	return 0;
}

static int parse_sample(const char *line, const char *end, struct prom_doc *d,
			struct perr *e)
{
	struct prom_sample s = { 0 };
	const char *p = line;
	char *num_end;
	int i;

	s.name = read_name(&p, true);
	if (!s.name)
		return perr_fail(e, "bad metric name");
	if (!is_family(d, s.name, d->nfamilies)) {
		int rc = perr_fail(e, "%s has no HELP/TYPE before it", s.name);

		free(s.name);
		return rc;
	}
	if (strcmp(d->families[d->nfamilies - 1], s.name)) {
		int rc = perr_fail(e, "%s is not the current family", s.name);

		free(s.name);
		return rc;
	}
	if (*p == '{') {
		p++;
		while (*p != '}') {
			struct prom_label l;

			l.name = read_name(&p, false);
			if (!l.name || *p != '=' || p[1] != '"') {
				free(l.name);
				goto bad_label;
			}
			p += 2;
			l.value = read_value(&p, end);
			if (!l.value) {
				free(l.name);
				goto bad_label;
			}
			if (!utf8_valid((const unsigned char *)l.value, strlen(l.value))) {
				free(l.name);
				free(l.value);
				goto bad_utf8;
			}
			s.labels = realloc(s.labels, (size_t)(s.nlabels + 1) * sizeof(l));
			s.labels[s.nlabels++] = l;
			for (i = 0; i < s.nlabels - 1; i++)
				if (!strcmp(s.labels[i].name, l.name))
					goto dup_label;
			if (*p == ',')
				p++;
			else if (*p != '}')
				goto bad_label;
		}
		p++;
	}
	if (*p != ' ')
		goto bad_value;
	p++;
	s.value = strtod(p, &num_end);
	if (num_end == p || num_end != end)
		goto bad_value;
	for (i = 0; i < d->n; i++)
		if (same_series(&d->samples[i], &s))
			goto dup_series;
	d->samples = realloc(d->samples, (size_t)(d->n + 1) * sizeof(s));
	d->samples[d->n++] = s;
	return 0;

bad_label:
	perr_fail(e, "malformed label set");
	goto out;
bad_utf8:
	perr_fail(e, "label value is not valid UTF-8");
	goto out;
dup_label:
	perr_fail(e, "label %s twice", s.labels[s.nlabels - 1].name);
	goto out;
bad_value:
	perr_fail(e, "malformed value");
	goto out;
dup_series:
	perr_fail(e, "the same series twice");
out:
	for (i = 0; i < s.nlabels; i++) {
		free(s.labels[i].name);
		free(s.labels[i].value);
	}
	free(s.labels);
	free(s.name);
	return -1;
}

int prom_parse(const char *text, struct prom_doc *d, char *err, size_t errlen)
{
	struct perr e = { err, errlen, 0 };
	const char *line = text, *pending_help = NULL;

	memset(d, 0, sizeof(*d));
	if (!utf8_valid((const unsigned char *)text, strlen(text)))
		return perr_fail(&e, "the exposition is not valid UTF-8");
	if (*text && text[strlen(text) - 1] != '\n')
		return perr_fail(&e, "no newline at the end");
	while (*line) {
		const char *end = strchr(line, '\n');
		int rc;

		e.line++;
		if (end == line)
			return perr_fail(&e, "empty line");
		if (line[0] == '#')
			rc = parse_comment(line, end, d, &pending_help, &e);
		else if (pending_help)
			rc = perr_fail(&e, "sample between HELP and TYPE");
		else
			rc = parse_sample(line, end, d, &e);
		if (rc)
			return rc;
		line = end + 1;
	}
	if (pending_help)
		return perr_fail(&e, "HELP without TYPE at the end");
	return 0;
}

void prom_free(struct prom_doc *d)
{
	for (int i = 0; i < d->n; i++) {
		for (int j = 0; j < d->samples[i].nlabels; j++) {
			free(d->samples[i].labels[j].name);
			free(d->samples[i].labels[j].value);
		}
		free(d->samples[i].labels);
		free(d->samples[i].name);
	}
	free(d->samples);
	for (int i = 0; i < d->nfamilies; i++)
		free(d->families[i]);
	free(d->families);
	memset(d, 0, sizeof(*d));
}

void prom_parse_or_fail(const char *text, struct prom_doc *d)
{
	char err[512];

	if (prom_parse(text, d, err, sizeof(err)))
		ck_abort_msg("not a valid exposition: %s\n%s", err, text);
}

const char *prom_label(const struct prom_sample *s, const char *label)
{
	for (int i = 0; i < s->nlabels; i++)
		if (!strcmp(s->labels[i].name, label))
			return s->labels[i].value;
	return NULL;
}

static int nmatchers(const char *const labels[])
{
	int n = 0;

	while (labels && labels[2 * n])
		n++;
	return n;
}

static bool carries(const struct prom_sample *s, const char *const labels[])
{
	for (int i = 0; labels && labels[2 * i]; i++) {
		const char *v = prom_label(s, labels[2 * i]);

		if (!v || strcmp(v, labels[2 * i + 1]))
			return false;
	}
	return true;
}

const struct prom_sample *prom_find(const struct prom_doc *d, const char *name,
				    const char *const labels[])
{
	for (int i = 0; i < d->n; i++) {
		const struct prom_sample *s = &d->samples[i];

		if (!strcmp(s->name, name) && s->nlabels == nmatchers(labels) &&
		    carries(s, labels))
			return s;
	}
	return NULL;
}

double prom_value(const struct prom_doc *d, const char *name,
		  const char *const labels[], double def)
{
	const struct prom_sample *s = prom_find(d, name, labels);

	return s ? s->value : def;
}

double prom_sum(const struct prom_doc *d, const char *name,
		const char *const labels[])
{
	double sum = 0;

	for (int i = 0; i < d->n; i++)
		if (!strcmp(d->samples[i].name, name) && carries(&d->samples[i], labels))
			sum += d->samples[i].value;
	return sum;
}

int prom_count(const struct prom_doc *d, const char *name,
	       const char *const labels[])
{
	int n = 0;

	for (int i = 0; i < d->n; i++)
		if (!strcmp(d->samples[i].name, name) && carries(&d->samples[i], labels))
			n++;
	return n;
}

bool prom_has_family(const struct prom_doc *d, const char *name)
{
	return is_family(d, name, d->nfamilies);
}

int prom_distinct(const struct prom_doc *d, const char *name, const char *label)
{
	int n = 0;

	for (int i = 0; i < d->n; i++) {
		const char *v = prom_label(&d->samples[i], label);
		bool seen = false;

		if (strcmp(d->samples[i].name, name) || !v)
			continue;
		for (int j = 0; j < i && !seen; j++) {
			const char *w = prom_label(&d->samples[j], label);

			seen = !strcmp(d->samples[j].name, name) && w && !strcmp(v, w);
		}
		n += !seen;
	}
	return n;
}
