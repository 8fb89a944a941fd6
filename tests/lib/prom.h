/*
 * A strict reader of the Prometheus text exposition format (0.0.4), for
 * the tests: it parses what sockaudit prints and checks the rules a
 * scraper relies on -- HELP and TYPE before a family's samples, metric
 * and label names well formed, label values valid UTF-8 with only the
 * three escapes (\\, \", \n), no series twice -- then answers queries
 * over the samples.
 */
#ifndef PROM_H
#define PROM_H

#include <stdbool.h>
#include <stddef.h>

struct prom_label {
	char *name;
	char *value; /* unescaped */
};

struct prom_sample {
	char *name;
	struct prom_label *labels;
	int nlabels;
	double value;
};

struct prom_doc {
	struct prom_sample *samples;
	int n;
	char **families; /* names with HELP and TYPE, in order */
	int nfamilies;
};

/*
 * Parse and check an exposition.  Returns 0, or -1 with a message naming
 * the line in err; *d must be freed with prom_free either way.
 */
int prom_parse(const char *text, struct prom_doc *d, char *err, size_t errlen);
void prom_free(struct prom_doc *d);

/* Parse, failing the test (ck_abort) on any error. */
void prom_parse_or_fail(const char *text, struct prom_doc *d);

/*
 * Label matchers are NULL-terminated lists of alternating names and
 * values: { "side", "server", "port", "8080", NULL }.
 */

/* The sample with exactly these labels, or NULL. */
const struct prom_sample *prom_find(const struct prom_doc *d, const char *name,
				    const char *const labels[]);
/* The value of that sample; `def` when there is none. */
double prom_value(const struct prom_doc *d, const char *name,
		  const char *const labels[], double def);
/* Sum and count of the samples that carry at least these labels. */
double prom_sum(const struct prom_doc *d, const char *name,
		const char *const labels[]);
int prom_count(const struct prom_doc *d, const char *name,
	       const char *const labels[]);
/* A sample's value of a label, or NULL. */
const char *prom_label(const struct prom_sample *s, const char *label);
/* Whether a family was declared (HELP and TYPE). */
bool prom_has_family(const struct prom_doc *d, const char *name);
/* Distinct values of `label` among the samples of `name` that carry it. */
int prom_distinct(const struct prom_doc *d, const char *name, const char *label);

#endif
