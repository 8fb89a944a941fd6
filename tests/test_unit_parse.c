/*
 * Unit tests for parse.h: option-value parsers and the names used in
 * output.  Every parser is driven by a table of {input, expected} rows;
 * a failing row names itself.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "sockaudit.h"
#include "lib/runsuite.h"

/* ---- parse_uint ---------------------------------------------------- */

struct uint_row {
	const char *in;
	uint64_t min, max;
	int ret;
	uint64_t out;
};

static const struct uint_row uint_rows[] = {
	{ "0", 0, 10, 0, 0 },
	{ "10", 0, 10, 0, 10 },
	{ "1", 1, 1, 0, 1 },
	{ "007", 0, 10, 0, 7 },
	{ "65535", 1, 65535, 0, 65535 },
	{ "11", 0, 10, -ERANGE, 0 },
	{ "0", 1, 10, -ERANGE, 0 },
	{ "65536", 1, 65535, -ERANGE, 0 },
	{ "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX },
	{ "18446744073709551614", 0, UINT64_MAX, 0, UINT64_MAX - 1 },
	/* One more than UINT64_MAX must not wrap to 0. */
	{ "18446744073709551616", 0, UINT64_MAX, -ERANGE, 0 },
	{ "18446744073709551620", 0, UINT64_MAX, -ERANGE, 0 },
	{ "99999999999999999999999999", 0, UINT64_MAX, -ERANGE, 0 },
	{ "", 0, 10, -EINVAL, 0 },
	{ "+1", 0, 10, -EINVAL, 0 },
	{ "-1", 0, 10, -EINVAL, 0 },
	{ "-0", 0, 10, -EINVAL, 0 },
	{ " 1", 0, 10, -EINVAL, 0 },
	{ "1 ", 0, 10, -EINVAL, 0 },
	{ "1\n", 0, 10, -EINVAL, 0 },
	{ "1a", 0, 10, -EINVAL, 0 },
	{ "a1", 0, 10, -EINVAL, 0 },
	{ "0x10", 0, 100, -EINVAL, 0 },
	{ "1.0", 0, 10, -EINVAL, 0 },
	{ "1e3", 0, 10000, -EINVAL, 0 },
	{ "1,2", 0, 10, -EINVAL, 0 },
};

START_TEST(test_parse_uint_rows)
{
	const struct uint_row *r = &uint_rows[_i];
	uint64_t out = 0xdeadbeefu;
	int ret = parse_uint(r->in, r->min, r->max, &out);

	ck_assert_msg(ret == r->ret, "parse_uint(\"%s\", %ju, %ju) = %d, want %d",
		      r->in, (uintmax_t)r->min, (uintmax_t)r->max, ret, r->ret);
	if (r->ret == 0)
		ck_assert_msg(out == r->out, "parse_uint(\"%s\") gave %ju, want %ju",
			      r->in, (uintmax_t)out, (uintmax_t)r->out);
	else
		ck_assert_msg(out == 0xdeadbeefu,
			      "parse_uint(\"%s\") failed but changed *out", r->in);
}
END_TEST

/* ---- parse_duration_ms --------------------------------------------- */

struct dur_row {
	const char *in;
	int ret;
	uint32_t ms;
};

static const struct dur_row dur_rows[] = {
	{ "0", 0, 0 },
	{ "0ms", 0, 0 },
	{ "0s", 0, 0 },
	{ "0m", 0, 0 },
	{ "0h", 0, 0 },
	{ "1", 0, 1000 },
	{ "60", 0, 60000 },
	{ "1ms", 0, 1 },
	{ "850ms", 0, 850 },
	{ "1s", 0, 1000 },
	{ "60s", 0, 60000 },
	{ "1m", 0, 60000 },
	{ "90m", 0, 5400000 },
	{ "1h", 0, 3600000 },
	{ "24h", 0, 86400000 },
	/* The upper bound, 2^31 - 1 ms, exactly and one more, in each unit. */
	{ "2147483647ms", 0, 2147483647u },
	{ "2147483648ms", -ERANGE, 0 },
	{ "2147483s", 0, 2147483000u },
	{ "2147484s", -ERANGE, 0 },
	{ "2147483", 0, 2147483000u },
	{ "2147484", -ERANGE, 0 },
	{ "35791m", 0, 2147460000u },
	{ "35792m", -ERANGE, 0 },
	{ "596h", 0, 2145600000u },
	{ "597h", -ERANGE, 0 },
	/* Products that wrap a 32- or 64-bit multiply. */
	{ "4294968h", -ERANGE, 0 },
	{ "5124095576030432h", -ERANGE, 0 },
	{ "18446744073709551616ms", -ERANGE, 0 },
	{ "99999999999999999999999s", -ERANGE, 0 },
	/* Malformed. */
	{ "", -EINVAL, 0 },
	{ "s", -EINVAL, 0 },
	{ "ms", -EINVAL, 0 },
	{ "h", -EINVAL, 0 },
	{ "1.5s", -EINVAL, 0 },
	{ ".5s", -EINVAL, 0 },
	{ "-1", -EINVAL, 0 },
	{ "-1s", -EINVAL, 0 },
	{ "+1s", -EINVAL, 0 },
	{ "1sec", -EINVAL, 0 },
	{ "1mss", -EINVAL, 0 },
	{ "1hs", -EINVAL, 0 },
	{ "1sm", -EINVAL, 0 },
	{ "10d", -EINVAL, 0 },
	{ "10us", -EINVAL, 0 },
	{ "1 s", -EINVAL, 0 },
	{ " 1s", -EINVAL, 0 },
	{ "1s ", -EINVAL, 0 },
	{ "1m30s", -EINVAL, 0 },
	{ "0x10s", -EINVAL, 0 },
	{ "1e3ms", -EINVAL, 0 },
};

START_TEST(test_parse_duration_rows)
{
	const struct dur_row *r = &dur_rows[_i];
	uint32_t out = 0xdeadbeefu;
	int ret = parse_duration_ms(r->in, &out);

	ck_assert_msg(ret == r->ret, "parse_duration_ms(\"%s\") = %d, want %d",
		      r->in, ret, r->ret);
	if (r->ret == 0)
		ck_assert_msg(out == r->ms, "parse_duration_ms(\"%s\") gave %u, want %u",
			      r->in, out, r->ms);
	else
		ck_assert_msg(out == 0xdeadbeefu,
			      "parse_duration_ms(\"%s\") failed but changed *out",
			      r->in);
}
END_TEST

/* ---- parse_state_name ---------------------------------------------- */

struct state_row {
	const char *in;
	int ret;
	int state;
};

static const struct state_row state_rows[] = {
	{ "established", 0, ST_ESTABLISHED },
	{ "syn-sent", 0, ST_SYN_SENT },
	{ "syn-recv", 0, ST_SYN_RECV },
	{ "fin-wait-1", 0, ST_FIN_WAIT1 },
	{ "fin-wait-2", 0, ST_FIN_WAIT2 },
	{ "time-wait", 0, ST_TIME_WAIT },
	{ "close", 0, ST_CLOSE },
	{ "close-wait", 0, ST_CLOSE_WAIT },
	{ "last-ack", 0, ST_LAST_ACK },
	{ "listen", 0, ST_LISTEN },
	{ "closing", 0, ST_CLOSING },
	/* '_' for '-', any case, mixed separators. */
	{ "syn_sent", 0, ST_SYN_SENT },
	{ "syn_recv", 0, ST_SYN_RECV },
	{ "fin_wait_1", 0, ST_FIN_WAIT1 },
	{ "fin_wait-2", 0, ST_FIN_WAIT2 },
	{ "fin-wait_1", 0, ST_FIN_WAIT1 },
	{ "time_wait", 0, ST_TIME_WAIT },
	{ "close_wait", 0, ST_CLOSE_WAIT },
	{ "last_ack", 0, ST_LAST_ACK },
	{ "ESTABLISHED", 0, ST_ESTABLISHED },
	{ "Established", 0, ST_ESTABLISHED },
	{ "SYN-SENT", 0, ST_SYN_SENT },
	{ "Syn_Recv", 0, ST_SYN_RECV },
	{ "FIN_WAIT_1", 0, ST_FIN_WAIT1 },
	{ "Fin-Wait-2", 0, ST_FIN_WAIT2 },
	{ "TIME_WAIT", 0, ST_TIME_WAIT },
	{ "CLOSE", 0, ST_CLOSE },
	{ "CLOSE-WAIT", 0, ST_CLOSE_WAIT },
	{ "cLoSe_WaIt", 0, ST_CLOSE_WAIT },
	{ "LAST-ACK", 0, ST_LAST_ACK },
	{ "LISTEN", 0, ST_LISTEN },
	{ "Closing", 0, ST_CLOSING },
	/* Not state names. */
	{ "", -EINVAL, 0 },
	{ "all", -EINVAL, 0 },
	{ "estab", -EINVAL, 0 },
	{ "established2", -EINVAL, 0 },
	{ "establishe", -EINVAL, 0 },
	{ " established", -EINVAL, 0 },
	{ "established ", -EINVAL, 0 },
	{ "close wait", -EINVAL, 0 },
	{ "close--wait", -EINVAL, 0 },
	{ "closewait", -EINVAL, 0 },
	{ "close-", -EINVAL, 0 },
	{ "-close", -EINVAL, 0 },
	{ "fin-wait-3", -EINVAL, 0 },
	{ "fin-wait", -EINVAL, 0 },
	{ "new-syn-recv", -EINVAL, 0 },
	{ "listen,close", -EINVAL, 0 },
	{ "1", -EINVAL, 0 },
};

START_TEST(test_parse_state_name_rows)
{
	const struct state_row *r = &state_rows[_i];
	int out = -12345;
	int ret = parse_state_name(r->in, &out);

	ck_assert_msg(ret == r->ret, "parse_state_name(\"%s\") = %d, want %d",
		      r->in, ret, r->ret);
	if (r->ret == 0)
		ck_assert_msg(out == r->state, "parse_state_name(\"%s\") gave %d, want %d",
			      r->in, out, r->state);
	else
		ck_assert_msg(out == -12345,
			      "parse_state_name(\"%s\") failed but changed *out", r->in);
}
END_TEST

/* ---- parse_state_list ---------------------------------------------- */

struct mask_row {
	const char *in;
	int ret;
	uint32_t mask;
};

#define B(s) STATE_BIT(ST_##s)

static const struct mask_row state_list_rows[] = {
	{ "all", 0, STATES_ALL },
	{ "ALL", 0, STATES_ALL },
	{ "established", 0, B(ESTABLISHED) },
	{ "close-wait", 0, B(CLOSE_WAIT) },
	{ "established,close-wait", 0, B(ESTABLISHED) | B(CLOSE_WAIT) },
	{ "LISTEN,listen", 0, B(LISTEN) },
	{ "time_wait,FIN-WAIT-1,fin_wait_2,last-ack", 0,
	  B(TIME_WAIT) | B(FIN_WAIT1) | B(FIN_WAIT2) | B(LAST_ACK) },
	{ "established,syn-sent,syn-recv,fin-wait-1,fin-wait-2,time-wait,"
	  "close,close-wait,last-ack,listen,closing", 0, STATES_ALL },
	{ "", -EINVAL, 0 },
	{ ",", -EINVAL, 0 },
	{ "established,", -EINVAL, 0 },
	{ ",established", -EINVAL, 0 },
	{ "established,,listen", -EINVAL, 0 },
	{ "established,foo", -EINVAL, 0 },
	{ "foo,established", -EINVAL, 0 },
	{ "established listen", -EINVAL, 0 },
	{ "established;listen", -EINVAL, 0 },
	{ "established, listen", -EINVAL, 0 },
	{ "alll", -EINVAL, 0 },
	{ "new_syn_recv", -EINVAL, 0 },
};

START_TEST(test_parse_state_list_rows)
{
	const struct mask_row *r = &state_list_rows[_i];
	uint32_t mask = r->ret == 0 ? 0 : 0xdeadbeefu;
	int ret = parse_state_list(r->in, &mask);

	ck_assert_msg(ret == r->ret, "parse_state_list(\"%s\") = %d, want %d",
		      r->in, ret, r->ret);
	if (r->ret == 0)
		ck_assert_msg(mask == r->mask,
			      "parse_state_list(\"%s\") gave %#x, want %#x", r->in,
			      mask, r->mask);
	else
		ck_assert_msg(mask == 0xdeadbeefu,
			      "parse_state_list(\"%s\") failed but changed *mask",
			      r->in);
}
END_TEST

/* No list can select TCP_NEW_SYN_RECV or bit 0: only bits 1..11. */
START_TEST(test_parse_state_list_all_is_user_states)
{
	uint32_t mask = 0;

	ck_assert_int_eq(parse_state_list("all", &mask), 0);
	ck_assert_uint_eq(mask & STATE_BIT(0), 0);
	ck_assert_uint_eq(mask & STATE_BIT(ST_NEW_SYN_RECV), 0);
	ck_assert_uint_eq(mask, STATES_ALL);
}
END_TEST

/* ---- parse_flag_list ----------------------------------------------- */

static const struct mask_row flag_rows[] = {
	{ "close_wait", 0, FLAG_CLOSE_WAIT },
	{ "close-wait", 0, FLAG_CLOSE_WAIT },
	{ "CLOSE_WAIT", 0, FLAG_CLOSE_WAIT },
	{ "Close-Wait", 0, FLAG_CLOSE_WAIT },
	{ "idle", 0, FLAG_IDLE },
	{ "IDLE", 0, FLAG_IDLE },
	{ "stalled", 0, FLAG_STALLED },
	{ "dead", 0, FLAG_DEAD },
	{ "Dead", 0, FLAG_DEAD },
	{ "idle,stalled", 0, FLAG_IDLE | FLAG_STALLED },
	{ "idle,idle", 0, FLAG_IDLE },
	{ "dead,close_wait,stalled,idle", 0,
	  FLAG_DEAD | FLAG_CLOSE_WAIT | FLAG_STALLED | FLAG_IDLE },
	{ "", -EINVAL, 0 },
	{ ",", -EINVAL, 0 },
	{ "idle,", -EINVAL, 0 },
	{ ",idle", -EINVAL, 0 },
	{ "idle,,dead", -EINVAL, 0 },
	{ "leak", -EINVAL, 0 },
	{ "idle,leak", -EINVAL, 0 },
	{ "closewait", -EINVAL, 0 },
	{ "close wait", -EINVAL, 0 },
	{ "idles", -EINVAL, 0 },
	{ "established", -EINVAL, 0 },
	{ " idle", -EINVAL, 0 },
};

START_TEST(test_parse_flag_list_rows)
{
	const struct mask_row *r = &flag_rows[_i];
	uint32_t mask = r->ret == 0 ? 0 : 0xdeadbeefu;
	int ret = parse_flag_list(r->in, &mask);

	ck_assert_msg(ret == r->ret, "parse_flag_list(\"%s\") = %d, want %d",
		      r->in, ret, r->ret);
	if (r->ret == 0)
		ck_assert_msg(mask == r->mask,
			      "parse_flag_list(\"%s\") gave %#x, want %#x", r->in,
			      mask, r->mask);
	else
		ck_assert_msg(mask == 0xdeadbeefu,
			      "parse_flag_list(\"%s\") failed but changed *mask",
			      r->in);
}
END_TEST

/* ---- parse_port_list ----------------------------------------------- */

#define MAXP 4
struct port_row {
	const char *in;
	int ret;
	unsigned nports;
	unsigned ports[MAXP];
};

static const struct port_row port_rows[] = {
	{ "1", 0, 1, { 1 } },
	{ "65535", 0, 1, { 65535 } },
	{ "80", 0, 1, { 80 } },
	{ "80,443", 0, 2, { 80, 443 } },
	{ "443,80,443", 0, 2, { 80, 443 } },
	{ "1,8,9,65535", 0, 4, { 1, 8, 9, 65535 } },
	{ "08080", 0, 1, { 8080 } },
	{ "0", -ERANGE, 0, { 0 } },
	{ "65536", -ERANGE, 0, { 0 } },
	{ "99999999999999999999999", -ERANGE, 0, { 0 } },
	/* A bad item after good ones must leave the bits untouched. */
	{ "80,0", -ERANGE, 0, { 0 } },
	{ "80,65536", -ERANGE, 0, { 0 } },
	{ "80,x", -EINVAL, 0, { 0 } },
	{ "", -EINVAL, 0, { 0 } },
	{ ",", -EINVAL, 0, { 0 } },
	{ "80,", -EINVAL, 0, { 0 } },
	{ ",80", -EINVAL, 0, { 0 } },
	{ "80,,443", -EINVAL, 0, { 0 } },
	{ "-1", -EINVAL, 0, { 0 } },
	{ "+80", -EINVAL, 0, { 0 } },
	{ "http", -EINVAL, 0, { 0 } },
	{ "80 ", -EINVAL, 0, { 0 } },
	{ "80, 443", -EINVAL, 0, { 0 } },
	{ "0x50", -EINVAL, 0, { 0 } },
	{ "8.0", -EINVAL, 0, { 0 } },
};

static int bit_is_set(const uint8_t *bits, unsigned port)
{
	return (bits[port >> 3] >> (port & 7)) & 1;
}

static unsigned bits_count(const uint8_t *bits)
{
	unsigned i, n = 0;

	for (i = 0; i < 65536 / 8; i++)
		n += (unsigned)__builtin_popcount(bits[i]);
	return n;
}

START_TEST(test_parse_port_list_rows)
{
	const struct port_row *r = &port_rows[_i];
	static uint8_t bits[65536 / 8];
	unsigned i;
	int ret;

	memset(bits, 0, sizeof(bits));
	ret = parse_port_list(r->in, bits);
	ck_assert_msg(ret == r->ret, "parse_port_list(\"%s\") = %d, want %d",
		      r->in, ret, r->ret);
	ck_assert_msg(bits_count(bits) == r->nports,
		      "parse_port_list(\"%s\") set %u bits, want %u", r->in,
		      bits_count(bits), r->nports);
	for (i = 0; i < r->nports; i++)
		ck_assert_msg(bit_is_set(bits, r->ports[i]),
			      "parse_port_list(\"%s\") did not set port %u", r->in,
			      r->ports[i]);
}
END_TEST

/* The bits are or-ed into what the set already holds. */
START_TEST(test_parse_port_list_accumulates)
{
	static uint8_t bits[65536 / 8];

	memset(bits, 0, sizeof(bits));
	ck_assert_int_eq(parse_port_list("22", bits), 0);
	ck_assert_int_eq(parse_port_list("80,443", bits), 0);
	ck_assert_uint_eq(bits_count(bits), 3);
	ck_assert(bit_is_set(bits, 22));
	ck_assert(bit_is_set(bits, 80));
	ck_assert(bit_is_set(bits, 443));
	/* A failing list keeps the earlier bits and adds none. */
	ck_assert_int_eq(parse_port_list("8080,0", bits), -ERANGE);
	ck_assert_uint_eq(bits_count(bits), 3);
	ck_assert(!bit_is_set(bits, 8080));
}
END_TEST

/* ---- parse_pid_list ------------------------------------------------ */

struct pid_row {
	const char *in;
	int ret;
	size_t n;
	pid_t pids[4];
};

static const struct pid_row pid_rows[] = {
	{ "1", 0, 1, { 1 } },
	{ "1234", 0, 1, { 1234 } },
	{ "1,2,3", 0, 3, { 1, 2, 3 } },
	{ "300,200", 0, 2, { 300, 200 } },
	{ "4194304", 0, 1, { 4194304 } },
	/* Any positive pid_t (parse.h): whether it exists is checked later. */
	{ "4194305", 0, 1, { 4194305 } },
	{ "2147483647", 0, 1, { 2147483647 } },
	{ "2147483648", -ERANGE, 0, { 0 } },
	{ "4294967297", -ERANGE, 0, { 0 } },
	{ "18446744073709551617", -ERANGE, 0, { 0 } },
	{ "0", -ERANGE, 0, { 0 } },
	{ "1,0", -ERANGE, 0, { 0 } },
	{ "-1", -EINVAL, 0, { 0 } },
	{ "+1", -EINVAL, 0, { 0 } },
	{ "", -EINVAL, 0, { 0 } },
	{ ",", -EINVAL, 0, { 0 } },
	{ "1,", -EINVAL, 0, { 0 } },
	{ ",1", -EINVAL, 0, { 0 } },
	{ "1,,2", -EINVAL, 0, { 0 } },
	{ "1,x", -EINVAL, 0, { 0 } },
	{ "self", -EINVAL, 0, { 0 } },
	{ "1 ", -EINVAL, 0, { 0 } },
	{ "1.5", -EINVAL, 0, { 0 } },
};

START_TEST(test_parse_pid_list_rows)
{
	const struct pid_row *r = &pid_rows[_i];
	pid_t *pids = NULL;
	size_t n = 0, i;
	int ret = parse_pid_list(r->in, &pids, &n);

	ck_assert_msg(ret == r->ret, "parse_pid_list(\"%s\") = %d, want %d",
		      r->in, ret, r->ret);
	ck_assert_msg(n == r->n, "parse_pid_list(\"%s\") gave %zu pids, want %zu",
		      r->in, n, r->n);
	for (i = 0; i < r->n; i++)
		ck_assert_msg(pids[i] == r->pids[i],
			      "parse_pid_list(\"%s\")[%zu] = %d, want %d", r->in, i,
			      (int)pids[i], (int)r->pids[i]);
	free(pids);
}
END_TEST

/* PIDs are appended to what the list holds; a failure keeps it. */
START_TEST(test_parse_pid_list_appends)
{
	pid_t *pids = NULL;
	size_t n = 0;

	ck_assert_int_eq(parse_pid_list("7", &pids, &n), 0);
	ck_assert_int_eq(parse_pid_list("8,9", &pids, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(pids[0], 7);
	ck_assert_int_eq(pids[1], 8);
	ck_assert_int_eq(pids[2], 9);
	ck_assert_int_eq(parse_pid_list("10,nope", &pids, &n), -EINVAL);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(pids[2], 9);
	free(pids);
}
END_TEST

/* Many PIDs: the list grows past any first allocation. */
START_TEST(test_parse_pid_list_many)
{
	char buf[8 * 1000];
	pid_t *pids = NULL;
	size_t n = 0, off = 0;
	int i;

	for (i = 1; i <= 1000; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%d",
					i > 1 ? "," : "", i);
	ck_assert_int_eq(parse_pid_list(buf, &pids, &n), 0);
	ck_assert_uint_eq(n, 1000);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(pids[i], i + 1);
	free(pids);
}
END_TEST

/* ---- output names -------------------------------------------------- */

struct name_row {
	int state;
	const char *json;
	const char *table;
};

/* The table names are ss's, but for TCP_CLOSE (see below). */
static const struct name_row name_rows[] = {
	{ ST_ESTABLISHED, "established", "ESTAB" },
	{ ST_SYN_SENT, "syn_sent", "SYN-SENT" },
	{ ST_SYN_RECV, "syn_recv", "SYN-RECV" },
	{ ST_FIN_WAIT1, "fin_wait_1", "FIN-WAIT-1" },
	{ ST_FIN_WAIT2, "fin_wait_2", "FIN-WAIT-2" },
	{ ST_TIME_WAIT, "time_wait", "TIME-WAIT" },
	{ ST_CLOSE, "close", NULL },
	{ ST_CLOSE_WAIT, "close_wait", "CLOSE-WAIT" },
	{ ST_LAST_ACK, "last_ack", "LAST-ACK" },
	{ ST_LISTEN, "listen", "LISTEN" },
	{ ST_CLOSING, "closing", "CLOSING" },
};

START_TEST(test_state_names_rows)
{
	const struct name_row *r = &name_rows[_i];
	const char *j = state_json_name(r->state);
	const char *tn = state_table_name(r->state);

	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(j, r->json);
	ck_assert_ptr_nonnull(tn);
	if (r->table) {
		ck_assert_str_eq(tn, r->table);
	} else {
		/* ss says UNCONN for TCP_CLOSE; the contract says "close".
		 * Either way: one upper-case word. */
		const char *p;

		ck_assert(tn[0] != '\0');
		for (p = tn; *p; p++)
			ck_assert_msg((*p >= 'A' && *p <= 'Z') || *p == '-',
				      "state_table_name(CLOSE) = \"%s\"", tn);
	}
}
END_TEST

/* Every JSON state name parses back to its state (names round-trip). */
START_TEST(test_state_json_name_roundtrip)
{
	const struct name_row *r = &name_rows[_i];
	int st = -1;

	ck_assert_int_eq(parse_state_name(state_json_name(r->state), &st), 0);
	ck_assert_int_eq(st, r->state);
}
END_TEST

struct flag_name_row {
	unsigned flag;
	const char *name;
};

static const struct flag_name_row flag_name_rows[] = {
	{ FLAG_CLOSE_WAIT, "close_wait" },
	{ FLAG_IDLE, "idle" },
	{ FLAG_STALLED, "stalled" },
	{ FLAG_DEAD, "dead" },
};

START_TEST(test_flag_name_rows)
{
	const struct flag_name_row *r = &flag_name_rows[_i];
	uint32_t mask = 0;

	ck_assert_ptr_nonnull(flag_name(r->flag));
	ck_assert_str_eq(flag_name(r->flag), r->name);
	/* And the name parses back to the flag. */
	ck_assert_int_eq(parse_flag_list(r->name, &mask), 0);
	ck_assert_uint_eq(mask, r->flag);
}
END_TEST

/* ---- parse_rate (--max-growth) ------------------------------------ */

struct rate_row {
	const char *in;
	int ret;
	double out;
};

static const struct rate_row rate_rows[] = {
	{ "0", 0, 0 },
	{ "2", 0, 2 },
	{ "0.5", 0, 0.5 },
	{ "12.25", 0, 12.25 },
	{ "1000000000", 0, 1e9 },
	{ "1000000001", -ERANGE, 0 },
	{ "", -EINVAL, 0 },
	{ ".5", -EINVAL, 0 },
	{ "5.", -EINVAL, 0 },
	{ "-1", -EINVAL, 0 },
	{ "+1", -EINVAL, 0 },
	{ "1e3", -EINVAL, 0 },
	{ "1.2.3", -EINVAL, 0 },
	{ " 1", -EINVAL, 0 },
	{ "nan", -EINVAL, 0 },
	{ "inf", -EINVAL, 0 },
	{ "1,5", -EINVAL, 0 },
};

START_TEST(test_parse_rate_rows)
{
	const struct rate_row *r = &rate_rows[_i];
	double v = -7;
	int ret = parse_rate(r->in, &v);

	ck_assert_msg(ret == r->ret, "'%s': returned %d, want %d", r->in, ret, r->ret);
	if (r->ret == 0)
		ck_assert_msg(v >= r->out * (1 - 1e-12) && v <= r->out * (1 + 1e-12), "'%s': got %g",
			      r->in, v);
	else
		ck_assert_msg(v == -7, "'%s': output touched on failure", r->in);
}
END_TEST

/* ---- parse_listen_addr (--listen) ---------------------------------- */

struct listen_row {
	const char *in;
	int ret;
	int family;
	const char *addr; /* inet_ntop of the result */
	unsigned port;
};

static const struct listen_row listen_rows[] = {
	{ "127.0.0.1:9477", 0, AF_INET, "127.0.0.1", 9477 },
	{ "0.0.0.0:1", 0, AF_INET, "0.0.0.0", 1 },
	{ "[::1]:65535", 0, AF_INET6, "::1", 65535 },
	{ "[::]:9477", 0, AF_INET6, "::", 9477 },
	{ ":9477", 0, AF_INET, "127.0.0.1", 9477 },
	{ "9477", 0, AF_INET, "127.0.0.1", 9477 },
	{ "127.0.0.1:0", -EINVAL, 0, NULL, 0 },
	{ "127.0.0.1:65536", -EINVAL, 0, NULL, 0 },
	{ "127.0.0.1:", -EINVAL, 0, NULL, 0 },
	{ "127.0.0.1", -EINVAL, 0, NULL, 0 },
	{ "localhost:9477", -EINVAL, 0, NULL, 0 },
	{ "::1:9477", -EINVAL, 0, NULL, 0 },
	{ "[::1]9477", -EINVAL, 0, NULL, 0 },
	{ "[127.0.0.1]:9477", -EINVAL, 0, NULL, 0 },
	{ "256.0.0.1:9477", -EINVAL, 0, NULL, 0 },
	{ "127.0.0.1:+80", -EINVAL, 0, NULL, 0 },
	{ "", -EINVAL, 0, NULL, 0 },
	{ "[]:80", -EINVAL, 0, NULL, 0 },
};

START_TEST(test_parse_listen_rows)
{
	const struct listen_row *r = &listen_rows[_i];
	struct sockaddr_storage ss;
	socklen_t len = 0;
	char buf[64];
	int ret = parse_listen_addr(r->in, &ss, &len);

	ck_assert_msg(ret == r->ret, "'%s': returned %d, want %d", r->in, ret, r->ret);
	if (ret)
		return;
	ck_assert_int_eq(ss.ss_family, r->family);
	if (r->family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

		ck_assert_uint_eq(len, sizeof(*in));
		ck_assert_str_eq(inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf)), r->addr);
		ck_assert_uint_eq(ntohs(in->sin_port), r->port);
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;

		ck_assert_uint_eq(len, sizeof(*in6));
		ck_assert_str_eq(inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf)), r->addr);
		ck_assert_uint_eq(ntohs(in6->sin6_port), r->port);
	}
}
END_TEST

/* ---- parse_proc_number (/proc entry names) ------------------------ */

struct procnum_row {
	const char *in;
	int ok;
	int out;
};

static const struct procnum_row procnum_rows[] = {
	{ "1", 1, 1 },
	{ "0", 1, 0 },
	{ "4194304", 1, 4194304 },
	{ "2147483647", 1, 2147483647 },
	{ "2147483648", 0, 0 },
	{ "", 0, 0 },
	{ "self", 0, 0 },
	{ "12a", 0, 0 },
	{ "-1", 0, 0 },
	{ ".", 0, 0 },
};

START_TEST(test_parse_proc_number_rows)
{
	const struct procnum_row *r = &procnum_rows[_i];
	int v = -7, ok = parse_proc_number(r->in, &v);

	ck_assert_msg(ok == r->ok, "'%s': %d, want %d", r->in, ok, r->ok);
	ck_assert_int_eq(v, r->ok ? r->out : -7);
}
END_TEST

#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *parse_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *tc = tcase_create("values");

	tcase_add_loop_test(tc, test_parse_uint_rows, 0, NROWS(uint_rows));
	tcase_add_loop_test(tc, test_parse_duration_rows, 0, NROWS(dur_rows));
	tcase_add_loop_test(tc, test_parse_state_name_rows, 0, NROWS(state_rows));
	tcase_add_loop_test(tc, test_parse_state_list_rows, 0,
			    NROWS(state_list_rows));
	tcase_add_test(tc, test_parse_state_list_all_is_user_states);
	tcase_add_loop_test(tc, test_parse_flag_list_rows, 0, NROWS(flag_rows));
	tcase_add_loop_test(tc, test_parse_port_list_rows, 0, NROWS(port_rows));
	tcase_add_test(tc, test_parse_port_list_accumulates);
	tcase_add_loop_test(tc, test_parse_pid_list_rows, 0, NROWS(pid_rows));
	tcase_add_test(tc, test_parse_pid_list_appends);
	tcase_add_test(tc, test_parse_pid_list_many);
	tcase_add_loop_test(tc, test_parse_rate_rows, 0, NROWS(rate_rows));
	tcase_add_loop_test(tc, test_parse_listen_rows, 0, NROWS(listen_rows));
	tcase_add_loop_test(tc, test_parse_proc_number_rows, 0, NROWS(procnum_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_loop_test(tc, test_state_names_rows, 0, NROWS(name_rows));
	tcase_add_loop_test(tc, test_state_json_name_roundtrip, 0, NROWS(name_rows));
	tcase_add_loop_test(tc, test_flag_name_rows, 0, NROWS(flag_name_rows));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(parse_suite());
}
