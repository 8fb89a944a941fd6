/*
 * Parsers for option values.  They do no I/O and never print: each
 * returns 0 on success or -EINVAL (malformed) / -ERANGE (out of bounds),
 * and leaves the output untouched on failure.
 */
#ifndef PARSE_H
#define PARSE_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* A whole decimal number in [min, max]: digits only, no sign, no
 * space, no leading '+'. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* A /proc entry named by a number (a PID, a descriptor): digits only,
 * 0 to 2^31-1.  Returns 1 and the number in *out, else 0. */
int parse_proc_number(const char *s, int *out);

/* A DURATION: a whole number followed by ms, s, m or h, or bare
 * (seconds); zero allowed; at most 2^31-1 ms.  Result in ms. */
int parse_duration_ms(const char *s, uint32_t *out);

/* A TCP state name as ss(8) spells it, '-' and '_' alike, any case.
 * Returns its enum tcp_state_num through *out. */
int parse_state_name(const char *s, int *out);

/* A comma-separated list of state names or "all": a state mask
 * (STATE_BIT of each). */
int parse_state_list(const char *s, uint32_t *mask);

/* A comma-separated list of flag names (close_wait, idle, stalled,
 * dead; '-' and '_' alike, any case): a mask of enum sock_flag. */
int parse_flag_list(const char *s, uint32_t *mask);

/* A comma-separated list of ports 1-65535: sets one bit per port in
 * `bits` (65536 bits).  The bits are or-ed in. */
int parse_port_list(const char *s, uint8_t bits[65536 / 8]);

/* A comma-separated list of PIDs (1 .. 2^31-1): appended to *pids
 * (realloc'd), *npids updated.  -ENOMEM possible. */
int parse_pid_list(const char *s, pid_t **pids, size_t *npids);

/* A non-negative decimal number: digits, optionally '.' and more digits
 * ("2", "0.5", "12.25"); no sign, exponent or space; at most 1e9. */
int parse_rate(const char *s, double *out);

/*
 * A listening address for --listen: "IPV4:PORT", "[IPV6]:PORT", or
 * ":PORT" / "PORT" meaning 127.0.0.1.  Numeric addresses only, port
 * 1-65535.  Fills *addr and *len.
 */
int parse_listen_addr(const char *s, struct sockaddr_storage *addr,
		      socklen_t *len);

struct sock_rec;

/* Names used in output: "established", "close_wait", "fin_wait_1", ... */
const char *state_json_name(int state);
/* Upper-case names as ss prints them: "ESTAB", "CLOSE-WAIT", ... */
const char *state_table_name(int state);
/* "close_wait", "idle", "stalled", "dead" for one flag bit. */
const char *flag_name(unsigned flag);
/* A socket's state by its kind: "unconnected" (table "UNCONN") for a UDP
 * or UNIX socket in TCP_CLOSE, else state_json_name (state_table_name). */
const char *sock_state_json_name(const struct sock_rec *s);
const char *sock_state_table_name(const struct sock_rec *s);
/* "tcp", "udp", "unix", "other_socket", "pipe", ... for an enum fd_type. */
const char *fd_type_name(unsigned type);
/* "tcp", "udp", "unix" for an enum sock_proto. */
const char *proto_name(unsigned protocol);
/* "stream", "dgram", "seqpacket" for a UNIX socket type. */
const char *unix_type_name(unsigned type);

#endif
