/*
 * A real Prometheus server for the tests: see promserver.h.
 */
#include "promserver.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "testlib.h"

/* The query's bytes outside [A-Za-z0-9_.-] as %XX. */
static void url_encode(const char *in, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *in && n + 4 < len; in++) {
		unsigned char c = (unsigned char)*in;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.') {
			out[n++] = (char)c;
		} else {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	out[n] = '\0';
}

cJSON *promserver_query(int port, const char *query, cJSON **doc, char **raw)
{
	char path[1024], enc[900];
	struct http_resp r;
	cJSON *data, *st;

	*doc = NULL;
	url_encode(query, enc, sizeof(enc));
	snprintf(path, sizeof(path), "/api/v1/query?query=%s", enc);
	if (http_request("127.0.0.1", port, "GET", path, 10000, &r) || r.status != 200) {
		http_free(&r);
		return NULL;
	}
	*doc = cJSON_Parse(r.body);
	if (raw)
		*raw = strdup(r.body);
	http_free(&r);
	st = cJSON_GetObjectItemCaseSensitive(*doc, "status");
	data = cJSON_GetObjectItemCaseSensitive(*doc, "data");
	if (!cJSON_IsString(st) || strcmp(st->valuestring, "success") || !data)
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(data, "result");
}

double promserver_result_value(const cJSON *result, const char *label, const char *value)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, result) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(s, "metric");
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(m, label);
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, "value");

		if (cJSON_IsString(l) && !strcmp(l->valuestring, value) &&
		    cJSON_GetArraySize(v) == 2)
			return atof(cJSON_GetArrayItem(v, 1)->valuestring);
	}
	return -1;
}

void promserver_start(struct bg_proc *p, int *port, const char *cfg, const char *data)
{
	char arg_cfg[PATH_MAX + 32], arg_data[PATH_MAX + 32], arg_web[64];

	for (int attempt = 0; attempt < 5; attempt++) {
		const char *argv[] = { "prometheus", arg_cfg, arg_data, arg_web,
				       "--log.level=warn", NULL };
		long long deadline;

		*port = free_port();
		snprintf(arg_cfg, sizeof(arg_cfg), "--config.file=%s", cfg);
		snprintf(arg_data, sizeof(arg_data), "--storage.tsdb.path=%s", data);
		snprintf(arg_web, sizeof(arg_web), "--web.listen-address=127.0.0.1:%d", *port);
		ck_assert_int_eq(bg_start(p, argv, false), 0);
		deadline = test_now_ms() + 60000;
		while (test_now_ms() < deadline && !bg_exited(p)) {
			struct http_resp r;

			if (!http_request("127.0.0.1", *port, "GET", "/-/ready", 2000, &r) &&
			    r.status == 200) {
				http_free(&r);
				break;
			}
			http_free(&r);
			sleep_ms(200);
		}
		if (p->pid)
			break;
		{
			char *err = bg_stderr(p);

			ck_assert_msg(strstr(err, "address already in use"),
				      "prometheus exited: %s", err);
			free(err);
		}
		bg_free(p);
	}
	ck_assert_msg(p->pid > 0, "prometheus did not start");
}
