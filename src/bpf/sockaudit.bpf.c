// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * sockaudit's BPF iterators (CO-RE; see source_bpf.c for the reader).
 *
 *   iter/tcp        one sa_tcp_rec per TCP socket of the network
 *                   namespace the iterator was created in, with what
 *                   sock_diag and tcp_info would say of it
 *   iter/task_file  one sa_fd_rec per descriptor of every process
 *   iter/task       one sa_proc_rec per process: comm, RLIMIT_NOFILE,
 *                   css_set
 *
 * Every program only reads and writes its records with bpf_seq_write;
 * a record the seq_file could not take is written again by the kernel
 * on the next read, so nothing here keeps state between calls.
 *
 * Fields are read by direct access through the typed pointers the
 * iterators give (the verifier turns them into fault-safe loads, and
 * vmlinux.h's preserve_access_index makes them CO-RE relocations): a
 * helper call per field (BPF_CORE_READ) cost a quarter of the audit.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "records.h"

/* The license decides which helpers load: the GPL-only ones are needed
 * (bpf_sock_from_file, bpf_skc_to_*). */
char LICENSE[] SEC("license") = "Dual MIT/GPL";

extern int CONFIG_HZ __kconfig;

#define AF_INET 2
#define AF_INET6 10
#define TCP_ST_LISTEN 10
#define TCP_ST_TIME_WAIT 6
#define TCP_ST_NEW_SYN_RECV 12
#define AF_UNIX_NUM 1
#define IPPROTO_TCP_NUM 6
#define IPPROTO_UDP_NUM 17
#define SOCK_STREAM_NUM 1
#define SOCK_DGRAM_NUM 2
#define RLIMIT_NOFILE_NUM 7
#define PF_KTHREAD_FLAG 0x00200000
#define PIPEFS_MAGIC_NUM 0x50495045
#define ANON_INODE_FS_MAGIC_NUM 0x09041934
#define NSFS_MAGIC_NUM 0x6e736673

/* The kernel's jiffies_to_msecs for any HZ: exact multiple when HZ
 * divides 1000, else rounded up, truncated to 32 bits as it is. */
static __always_inline __u32 jiffies_ms(__u32 j)
{
	__u64 hz = (__u64)CONFIG_HZ;

	if (hz == 0)
		return 0;
	if (hz <= 1000 && 1000 % hz == 0)
		return (__u32)(1000 / hz) * j;
	return (__u32)(((__u64)j * 1000 + hz - 1) / hz);
}

/* The inode number of a socket: the one its file and /proc/PID/fd show
 * (the kernel's sock_i_ino), 0 when it has no socket any more. */
static __always_inline __u32 socket_inode(const struct sock *sk)
{
	struct socket *so = sk->sk_socket;
	struct socket_alloc *sa;

	if (!so)
		return 0;
	/* Past struct socket: the verifier would refuse a direct load. */
	sa = container_of(so, struct socket_alloc, socket);
	return (__u32)BPF_CORE_READ(sa, vfs_inode.i_ino);
}

/* The addresses and ports every kind of TCP socket shares. */
static __always_inline void fill_common(struct sa_tcp_rec *r,
					const struct sock_common *skc)
{
	r->family = (__u8)skc->skc_family;
	r->state = (__u8)skc->skc_state;
	r->lport = skc->skc_num;
	r->rport = __builtin_bswap16(skc->skc_dport);
	if (r->family == AF_INET) {
		__be32 a = skc->skc_rcv_saddr;
		__be32 b = skc->skc_daddr;

		__builtin_memcpy(r->laddr, &a, 4);
		__builtin_memcpy(r->raddr, &b, 4);
	} else {
		/* Whole 32-bit words: fault-safe loads are at most 8 bytes. */
		for (int i = 0; i < 4; i++) {
			__u32 a = skc->skc_v6_rcv_saddr.in6_u.u6_addr32[i];
			__u32 b = skc->skc_v6_daddr.in6_u.u6_addr32[i];

			__builtin_memcpy(r->laddr + 4 * i, &a, 4);
			__builtin_memcpy(r->raddr + 4 * i, &b, 4);
		}
	}
}

/*
 * A full socket: queues as sock_diag gives them (a listener's are its
 * accept queue and backlog), times as tcp_get_info computes them (a
 * listener's are 0: it returns before setting them).
 */
static __always_inline void fill_full(struct sa_tcp_rec *r, struct tcp_sock *tp,
				      __u32 uid)
{
	struct sock *sk = &tp->inet_conn.icsk_inet.sk;
	__u32 now;

	r->inode = socket_inode(sk);
	r->uid = uid;
	r->has_times = 1;
	if (r->state == TCP_ST_LISTEN) {
		r->recv_q = sk->sk_ack_backlog;
		r->send_q = sk->sk_max_ack_backlog;
		return;
	}
	{
		__s32 rq = (__s32)(tp->rcv_nxt - tp->copied_seq);

		r->recv_q = rq > 0 ? (__u32)rq : 0;
	}
	r->send_q = tp->write_seq - tp->snd_una;
	/* tcp_jiffies32 is the low 32 bits of jiffies. */
	now = (__u32)bpf_jiffies64();
	r->last_send_ms = jiffies_ms(now - tp->lsndtime);
	r->last_recv_ms = jiffies_ms(now - tp->inet_conn.icsk_ack.lrcvtime);
}

SEC("iter/tcp")
int sa_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct sa_tcp_rec r = {};
	struct tcp_sock *tp;

	if (!skc)
		return 0;
	fill_common(&r, skc);
	if (r.family != AF_INET && r.family != AF_INET6)
		return 0;
	/* Time-wait and request sockets: sock_diag gives them no inode, no
	 * uid, no queues and no tcp_info.  A time-wait socket's state is its
	 * substate, as sock_diag and ss say: an orphan in FIN-WAIT-2 is kept
	 * as a time-wait socket whose substate is FIN-WAIT-2. */
	if (r.state == TCP_ST_TIME_WAIT) {
		struct tcp_timewait_sock *tw = bpf_skc_to_tcp_timewait_sock(skc);

		if (tw)
			r.state = (__u8)tw->tw_sk.tw_substate;
	} else if (r.state != TCP_ST_NEW_SYN_RECV) {
		tp = bpf_skc_to_tcp_sock(skc);
		if (!tp)
			return 0;
		fill_full(&r, tp, ctx->uid);
	}
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

/*
 * A task's thread-group id as our PID namespace numbers it: the
 * leader's struct pid, at the level of the namespace of the process
 * reading the iterator (which only lists tasks that namespace sees).
 */
static __always_inline __u32 our_tgid(struct task_struct *task)
{
	struct task_struct *me = bpf_get_current_task_btf();
	unsigned int level = me->thread_pid->level;
	struct pid *p;
	struct upid up = {};

	if (level == 0)
		return (__u32)task->tgid;
	p = task->group_leader->thread_pid;
	if (!p || level > 32)
		return 0;
	bpf_probe_read_kernel(&up, sizeof(up), &p->numbers[level]);
	return (__u32)up.nr;
}

/* Threads are skipped: /proc/PID/fd is the leader's table, and the
 * kernel already skips threads sharing it. */
static __always_inline int is_leader(struct task_struct *task)
{
	return task->pid == task->tgid;
}

SEC("iter/task_file")
int sa_task_file(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct sa_fd_rec r = {};
	struct socket *so;
	struct sock *sk;

	if (!task || !file || !is_leader(task))
		return 0;
	r.tgid = our_tgid(task);
	r.fd = (__s32)ctx->fd;
	so = bpf_sock_from_file(file);
	if (!so) {
		unsigned long magic = file->f_inode->i_sb->s_magic;

		r.state = magic == PIPEFS_MAGIC_NUM	   ? SA_FILE_PIPE :
			  magic == ANON_INODE_FS_MAGIC_NUM ? SA_FILE_ANON_INODE :
			  magic == NSFS_MAGIC_NUM	   ? SA_FILE_OTHER :
							     SA_FILE_FILE;
	} else {
		r.kind = SA_FD_SOCKET;
		r.inode = (__u32)file->f_inode->i_ino;
		sk = so->sk;
		if (sk) {
			__u8 fam = (__u8)sk->__sk_common.skc_family;
			__u16 proto = sk->sk_protocol, type = sk->sk_type;

			r.family = fam;
			if (fam == AF_UNIX_NUM) {
				r.state = SA_SOCK_UNIX;
			} else if (fam != AF_INET && fam != AF_INET6) {
				/* another family: SA_SOCK_OTHER */
			} else if (proto == IPPROTO_TCP_NUM && type == SOCK_STREAM_NUM) {
				r.kind = SA_FD_TCP;
				r.state = (__u8)sk->__sk_common.skc_state;
			} else if (proto == IPPROTO_UDP_NUM && type == SOCK_DGRAM_NUM) {
				r.state = SA_SOCK_UDP;
			}
		}
	}
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

SEC("iter/task")
int sa_task(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct sa_proc_rec r = {};

	if (!task || !is_leader(task) || (task->flags & PF_KTHREAD_FLAG))
		return 0;
	r.tgid = our_tgid(task);
	r.fd_limit = task->signal->rlim[RLIMIT_NOFILE_NUM].rlim_cur;
	BPF_CORE_READ_STR_INTO(&r.comm, task, comm);
	/* The pointer's value only, read as a number (never followed). */
	r.cgroups = (__u64)(unsigned long)BPF_CORE_READ(task, cgroups);
	r.cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
