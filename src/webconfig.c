/*
 * The exporter toolkit's web configuration file, parsed: see
 * webconfig.h.  The YAML is libyaml's (its document loader); a bcrypt
 * hash is checked by the system's crypt (libxcrypt).
 */
#include "webconfig.h"

#include <crypt.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "text.h"

static const char *const client_auth_names[] = {
	[WC_NO_CLIENT_CERT] = "NoClientCert",
	[WC_REQUEST_CLIENT_CERT] = "RequestClientCert",
	[WC_REQUIRE_ANY_CLIENT_CERT] = "RequireAnyClientCert",
	[WC_VERIFY_CLIENT_CERT_IF_GIVEN] = "VerifyClientCertIfGiven",
	[WC_REQUIRE_AND_VERIFY_CLIENT_CERT] = "RequireAndVerifyClientCert",
};

static const char *const version_names[] = {
	[WC_TLS_ANY] = "default", [WC_TLS10] = "TLS10", [WC_TLS11] = "TLS11", [WC_TLS12] = "TLS12", [WC_TLS13] = "TLS13",
};

/* The toolkit's keys that sockaudit refuses, with the reason. */
static const struct {
	const char *key, *why;
} refused[] = {
	{ "http_server_config", "is not supported (no HTTP/2, no extra headers)" },
	{ "cipher_suites", "is not supported: GnuTLS's default suites are used "
			   "(narrow them with min_version)" },
	{ "curve_preferences", "is not supported: GnuTLS's default curves are used" },
	{ "prefer_server_cipher_suites", "is not supported" },
	{ "client_allowed_sans", "is not supported" },
	{ "cert", "is not supported: give cert_file" },
	{ "key", "is not supported: give key_file" },
	{ "client_ca", "is not supported: give client_ca_file" },
	{ "rate_limit", "is not supported (see --max-requests)" },
};

const char *webconfig_client_auth_name(enum webconfig_client_auth a)
{
	return client_auth_names[a];
}

const char *webconfig_tls_version_name(enum webconfig_tls_version v)
{
	return version_names[v];
}

/* Text from the file, for a message (show: 161 bytes). */
#define SHOWN(s) text_excerpt((s), 40, show, sizeof(show))

/* A message in err, after "line N: " when node is known. */
__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t errlen, const yaml_node_t *node, const char *fmt, ...)
{
	va_list ap;
	size_t n = 0;

	va_start(ap, fmt);
	if (node)
		n = (size_t)snprintf(err, errlen, "line %zu: ", node->start_mark.line + 1);
	if (n < errlen)
		// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): clang 14 misreads glibc's va_start
		vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* "out of memory" in err; returns -ENOMEM. */
static int no_memory(char *err, size_t errlen)
{
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

static bool is_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

/*
 * The string value of node for key: a copy in *out (NULL for a null
 * value).  Returns 0, -EINVAL when it is not a scalar or holds a NUL,
 * -ENOMEM.
 */
static int scalar(const yaml_node_t *node, const char *key, char **out, char *err,
		  size_t errlen)
{
	if (node->type != YAML_SCALAR_NODE)
		return fail(err, errlen, node, "%s: expected a string", key);
	if (strlen((const char *)node->data.scalar.value) != node->data.scalar.length)
		return fail(err, errlen, node, "%s: NUL byte in the value", key);
	free(*out);
	*out = NULL;
	if (is_null(node))
		return 0;
	*out = strdup((const char *)node->data.scalar.value);
	return *out ? 0 : no_memory(err, errlen);
}

/*
 * The key of pair p of mapping map as text in *key.  Returns 0, or
 * -EINVAL after a message when it is not a string, repeats an earlier
 * key of the mapping or, with `refuse`, is one the toolkit knows and
 * sockaudit refuses (not for user names: a user may be called "key").
 * where starts the message ("tls_server_config: ").
 */
static int mapping_key(yaml_document_t *doc, const yaml_node_t *map,
		       const yaml_node_pair_t *p, const char *where, bool refuse,
		       const char **key, char *err, size_t errlen)
{
	yaml_node_t *k = yaml_document_get_node(doc, p->key);
	const yaml_node_pair_t *q;
	char show[161];
	size_t i;

	*key = NULL;
	if (!k || k->type != YAML_SCALAR_NODE || !k->data.scalar.value) {
		fail(err, errlen, k, "a key must be a string");
		return -EINVAL; /* (fail's, said here for the analyzer) */
	}
	*key = (const char *)k->data.scalar.value;
	for (q = map->data.mapping.pairs.start; q < p; q++) {
		yaml_node_t *o = yaml_document_get_node(doc, q->key);

		if (o && o->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)o->data.scalar.value, *key))
			return fail(err, errlen, k, "%s%s: given twice", where, SHOWN(*key));
	}
	for (i = 0; refuse && i < sizeof(refused) / sizeof(refused[0]); i++)
		if (!strcmp(*key, refused[i].key))
			return fail(err, errlen, k, "%s%s %s", where, *key, refused[i].why);
	return 0;
}

/* A TLS version name into *v. */
static int tls_version(const yaml_node_t *node, const char *key,
		       enum webconfig_tls_version *v, char *err, size_t errlen)
{
	char *s = NULL;
	int rc, i;

	rc = scalar(node, key, &s, err, errlen);
	if (rc)
		return rc;
	*v = WC_TLS_ANY;
	for (i = WC_TLS10; s && i <= WC_TLS13; i++)
		if (!strcmp(s, version_names[i]))
			*v = (enum webconfig_tls_version)i;
	if (s && *v == WC_TLS_ANY) {
		char show[161];

		rc = fail(err, errlen, node, "tls_server_config: %s: unknown TLS version "
			  "'%s' (TLS10, TLS11, TLS12 or TLS13)", key, SHOWN(s));
	}
	free(s);
	return rc;
}

/* client_auth_type into wc->client_auth. */
static int client_auth(const yaml_node_t *node, struct webconfig *wc, char *err,
		       size_t errlen)
{
	char *s = NULL;
	int rc, i;

	rc = scalar(node, "client_auth_type", &s, err, errlen);
	if (rc || !s)
		return rc;
	rc = -EINVAL;
	for (i = WC_NO_CLIENT_CERT; i <= WC_REQUIRE_AND_VERIFY_CLIENT_CERT; i++)
		if (!strcmp(s, client_auth_names[i])) {
			wc->client_auth = (enum webconfig_client_auth)i;
			rc = 0;
		}
	if (rc) {
		char show[161];

		fail(err, errlen, node, "tls_server_config: client_auth_type: unknown "
		     "value '%s' (NoClientCert, RequestClientCert, RequireAnyClientCert, "
		     "VerifyClientCertIfGiven or RequireAndVerifyClientCert)", SHOWN(s));
	}
	free(s);
	return rc;
}

/* One key of tls_server_config. */
static int tls_key(const yaml_node_t *v, const char *key, struct webconfig *wc,
		   char *err, size_t errlen)
{
	char show[161];

	if (!strcmp(key, "cert_file"))
		return scalar(v, key, &wc->cert_file, err, errlen);
	if (!strcmp(key, "key_file"))
		return scalar(v, key, &wc->key_file, err, errlen);
	if (!strcmp(key, "client_ca_file"))
		return scalar(v, key, &wc->client_ca_file, err, errlen);
	if (!strcmp(key, "client_auth_type"))
		return client_auth(v, wc, err, errlen);
	if (!strcmp(key, "min_version"))
		return tls_version(v, key, &wc->min_version, err, errlen);
	if (!strcmp(key, "max_version"))
		return tls_version(v, key, &wc->max_version, err, errlen);
	return fail(err, errlen, v, "tls_server_config: unknown key '%s'", SHOWN(key));
}

/* The tls_server_config mapping. */
static int parse_tls(yaml_document_t *doc, yaml_node_t *map, struct webconfig *wc,
		     char *err, size_t errlen)
{
	yaml_node_pair_t *p;
	const char *key = NULL;

	if (is_null(map))
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return fail(err, errlen, map, "tls_server_config: expected a mapping");
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		int rc = mapping_key(doc, map, p, "tls_server_config: ", true, &key, err,
				     errlen);

		if (!rc)
			rc = tls_key(yaml_document_get_node(doc, p->value), key, wc, err,
				     errlen);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * Whether hash is a bcrypt hash as htpasswd -B writes it: $2a$, $2b$ or
 * $2y$, a two-digit cost from 04 to 31, 53 characters of bcrypt's
 * base64, and accepted by libxcrypt (crypt_checksalt).
 */
static bool is_bcrypt(const char *h)
{
	static const char b64[] =
		"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	int cost;

	if (strlen(h) != 60 || h[0] != '$' || h[1] != '2' || !strchr("aby", h[2]) ||
	    h[2] == '\0' || h[3] != '$' || h[6] != '$')
		return false;
	if (h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9')
		return false;
	cost = (h[4] - '0') * 10 + (h[5] - '0');
	if (cost < 4 || cost > 31 || strspn(h + 7, b64) != 53)
		return false;
	return crypt_checksalt(h) == CRYPT_SALT_OK;
}

/* The basic_auth_users mapping: user: bcrypt hash. */
static int parse_users(yaml_document_t *doc, yaml_node_t *map, struct webconfig *wc,
		       char *err, size_t errlen)
{
	yaml_node_pair_t *p;
	size_t n;

	if (is_null(map))
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return fail(err, errlen, map, "basic_auth_users: expected a mapping of "
			    "user: bcrypt hash");
	n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	wc->users = calloc(n ? n : 1, sizeof(*wc->users));
	if (!wc->users)
		return no_memory(err, errlen);
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		struct webconfig_user *u = &wc->users[wc->nusers];
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		const char *key = NULL;
		int rc;

		rc = mapping_key(doc, map, p, "basic_auth_users: ", false, &key, err,
				 errlen);
		if (!rc)
			rc = scalar(yaml_document_get_node(doc, p->key), "basic_auth_users",
				    &u->name, err, errlen);
		if (!rc)
			rc = scalar(v, "basic_auth_users", &u->hash, err, errlen);
		wc->nusers++;
		if (rc)
			return rc;
		if (!u->name || !*u->name || strchr(u->name, ':'))
			return fail(err, errlen, v, "basic_auth_users: a user name must be "
				    "non-empty and hold no ':'");
		if (!u->hash || !is_bcrypt(u->hash)) {
			char show[161];

			return fail(err, errlen, v, "basic_auth_users: %s: the password "
				    "is not a bcrypt hash ($2a$, $2b$ or $2y$; make one with "
				    "htpasswd -nbB)", SHOWN(u->name));
		}
		/* The costliest hash checks unknown users (webconfig_check_user). */
		if (strncmp(u->hash + 4, wc->users[wc->costliest].hash + 4, 2) > 0)
			wc->costliest = wc->nusers - 1;
	}
	return 0;
}

/* The top-level mapping. */
static int parse_root(yaml_document_t *doc, yaml_node_t *root, struct webconfig *wc,
		      char *err, size_t errlen)
{
	yaml_node_pair_t *p;
	const char *key = NULL;
	char show[161];

	if (!root || is_null(root))
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return fail(err, errlen, root, "expected a mapping with tls_server_config "
			    "and basic_auth_users");
	for (p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		int rc;

		rc = mapping_key(doc, root, p, "", true, &key, err, errlen);
		if (rc)
			return rc;
		if (!strcmp(key, "tls_server_config"))
			rc = parse_tls(doc, v, wc, err, errlen);
		else if (!strcmp(key, "basic_auth_users"))
			rc = parse_users(doc, v, wc, err, errlen);
		else
			rc = fail(err, errlen, yaml_document_get_node(doc, p->key),
				  "unknown key '%s'", SHOWN(key));
		if (rc)
			return rc;
	}
	return 0;
}

/* The combinations the toolkit refuses, and what TLS needs. */
static int check_tls(struct webconfig *wc, char *err, size_t errlen)
{
	const char *auth = client_auth_names[wc->client_auth];

	if (wc->cert_file && !wc->key_file)
		return fail(err, errlen, NULL, "tls_server_config: cert_file without key_file");
	if (wc->key_file && !wc->cert_file)
		return fail(err, errlen, NULL, "tls_server_config: key_file without cert_file");
	wc->tls = wc->cert_file != NULL;
	if (!wc->tls && (wc->client_auth != WC_NO_CLIENT_CERT || wc->client_ca_file ||
			 wc->min_version || wc->max_version))
		return fail(err, errlen, NULL, "tls_server_config: needs cert_file and key_file");
	if (wc->client_ca_file && wc->client_auth == WC_NO_CLIENT_CERT)
		return fail(err, errlen, NULL, "tls_server_config: client_ca_file given with "
			    "client_auth_type NoClientCert (set a client_auth_type)");
	if (!wc->client_ca_file && (wc->client_auth == WC_VERIFY_CLIENT_CERT_IF_GIVEN ||
				    wc->client_auth == WC_REQUIRE_AND_VERIFY_CLIENT_CERT))
		return fail(err, errlen, NULL, "tls_server_config: client_auth_type %s "
			    "needs client_ca_file", auth);
	if (wc->min_version && wc->max_version && wc->min_version > wc->max_version)
		return fail(err, errlen, NULL, "tls_server_config: min_version %s is above "
			    "max_version %s", version_names[wc->min_version],
			    version_names[wc->max_version]);
	return 0;
}

int webconfig_parse(const char *buf, size_t len, struct webconfig *wc, char *err,
		    size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc;

	memset(wc, 0, sizeof(*wc));
	if (errlen)
		err[0] = '\0';
	if (!yaml_parser_initialize(&parser))
		return no_memory(err, errlen);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = parser.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
		snprintf(err, errlen, "line %zu: %s%s%s", parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "YAML error",
			 parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return rc;
	}
	rc = parse_root(&doc, yaml_document_get_root_node(&doc), wc, err, errlen);
	yaml_document_delete(&doc);
	/* A second document ("---") is refused rather than ignored. */
	if (!rc && yaml_parser_load(&parser, &doc)) {
		if (yaml_document_get_root_node(&doc))
			rc = fail(err, errlen, yaml_document_get_root_node(&doc),
				  "more than one YAML document");
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	if (!rc)
		rc = check_tls(wc, err, errlen);
	return rc;
}

void webconfig_free(struct webconfig *wc)
{
	size_t i;

	for (i = 0; i < wc->nusers; i++) {
		free(wc->users[i].name);
		free(wc->users[i].hash);
	}
	free(wc->users);
	free(wc->cert_file);
	free(wc->key_file);
	free(wc->client_ca_file);
	free(wc->cert_pem);
	if (wc->key_pem) {
		explicit_bzero(wc->key_pem, strlen(wc->key_pem));
		free(wc->key_pem);
	}
	free(wc->ca_pem);
	memset(wc, 0, sizeof(*wc));
}
