// SPDX-License-Identifier: GPL-2.0
/*
 * The timed part of 'make bench', run inside the VM: the same workload on
 * netdevsim and on rdevsim, measured in one process so that no process
 * start (65 ms under TCG) is in the figures, and interleaved, one driver
 * then the other, so that a slow spell of the emulator or of the host
 * falls on both rather than on whichever ran at the time.
 *
 *   hbench report COUNT ROUNDS FILE...
 *	ROUNDS rounds of COUNT writes to each break_health FILE, the first
 *	file of a round being the next one each time; prints a line per
 *	FILE: median_us= min_us= (per report, over the rounds); fails, and
 *	prints no figure, if any write fails
 *   hbench diagnose REPORTER COUNT BUS/DEV...
 *	COUNT diagnose requests to each instance, one after the other;
 *	prints a line per instance: median_us= min_us=
 *   hbench dump REPORTER COUNT BUS/DEV...
 *	COUNT times, on each instance in turn: dump clear, then dump show
 *	(which dumps anew); prints a line per instance: median_ms= min_ms=
 *	bytes= (of one dump show)
 *   hbench load MODULE.ko ACTION...
 *	loads the module and makes an instance: ACTION is mkdir:PATH or
 *	write:PATH=VALUE; prints ms=
 *
 * Netlink requests are plain generic netlink, without a library, so that
 * the client costs the same for both drivers and next to nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/devlink.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RX_SIZE (1024 * 1024)

static void die(const char *what)
{
	fprintf(stderr, "hbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void print_usage(void)
{
	fprintf(stderr, "usage: hbench report COUNT ROUNDS FILE... |\n"
		"       diagnose REPORTER COUNT BUS/DEV... | dump REPORTER COUNT BUS/DEV... |\n"
		"       load MODULE.ko ACTION...\n");
	exit(2);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long count_arg(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (*end || n <= 0) {
		fprintf(stderr, "hbench: bad count '%s'\n", s);
		exit(2);
	}
	return n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts @v and returns its median. */
static double median(double *v, long n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Sorts @v and returns its smallest value. */
static double least(double *v, long n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[0];
}

/* An array of @n figures for each of @targets targets: v[target * n + i]. */
static double *figures(int targets, long n)
{
	double *v = calloc((size_t)targets * n, sizeof(*v));

	if (!v)
		die("calloc");
	return v;
}

static int cmd_report(long count, long rounds, char **files, int nfiles)
{
	static const char msg[] = "bench\n";
	const ssize_t len = sizeof(msg) - 1;
	double *v = figures(nfiles, rounds), t0;
	long *errors = calloc(nfiles, sizeof(*errors));
	int *fds = calloc(nfiles, sizeof(*fds)), *first = calloc(nfiles, sizeof(*first));
	int f, k, failed = 0;
	long r, i;
	ssize_t n;

	if (!errors || !fds || !first)
		die("calloc");
	for (f = 0; f < nfiles; f++) {
		fds[f] = open(files[f], O_WRONLY);
		if (fds[f] < 0)
			die(files[f]);
	}
	for (r = 0; r < rounds; r++)
		for (k = 0; k < nfiles; k++) {
			f = (r + k) % nfiles;
			t0 = now_ns();
			for (i = 0; i < count; i++) {
				n = pwrite(fds[f], msg, len, 0);
				if (n != len && !errors[f]++)
					first[f] = n < 0 ? errno : 0;
			}
			v[f * rounds + r] = (now_ns() - t0) / count;
		}
	for (f = 0; f < nfiles; f++) {
		close(fds[f]);
		if (!errors[f])
			continue;
		fprintf(stderr, "hbench: %ld of %ld writes to %s failed, the first with %s\n",
			errors[f], count * rounds, files[f],
			first[f] ? strerror(first[f]) : "a short count");
		failed = 1;
	}
	if (failed)
		return 1;
	for (f = 0; f < nfiles; f++)
		printf("median_us=%.4f min_us=%.4f\n", median(v + f * rounds, rounds) / 1e3,
		       least(v + f * rounds, rounds) / 1e3);
	return 0;
}

struct nl {
	int fd;
	__u16 family;
	__u32 seq;
	char *rx;
};

struct req {
	struct nlmsghdr nh;
	struct genlmsghdr gh;
	char attrs[512];
};

static void put_attr(struct req *r, __u16 type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	if (NLMSG_ALIGN(r->nh.nlmsg_len) + NLA_HDRLEN + NLA_ALIGN(len) > sizeof(*r)) {
		fprintf(stderr, "hbench: request too long\n");
		exit(2);
	}
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static void put_str(struct req *r, __u16 type, const char *s)
{
	put_attr(r, type, s, strlen(s) + 1);
}

static void start(struct nl *nl, struct req *r, __u16 family, __u8 cmd,
		  __u16 flags)
{
	memset(r, 0, sizeof(*r));
	r->nh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	r->nh.nlmsg_type = family;
	r->nh.nlmsg_flags = NLM_F_REQUEST | flags;
	r->nh.nlmsg_seq = ++nl->seq;
	r->gh.cmd = cmd;
	r->gh.version = family == GENL_ID_CTRL ? 1 : DEVLINK_GENL_VERSION;
}

/*
 * Sends @r and reads the answer up to its end (an error message, or
 * NLMSG_DONE for multipart answers). Returns the bytes received, or
 * -errno; the first message that is not an error or DONE is left in
 * @first when asked for.
 */
static long transact(struct nl *nl, struct req *r, struct nlmsghdr *first, size_t first_len)
{
	long total = 0;
	int have_first = 0;

	if (send(nl->fd, r, r->nh.nlmsg_len, 0) < 0)
		die("send");
	for (;;) {
		ssize_t n = recv(nl->fd, nl->rx, RX_SIZE, 0);
		struct nlmsghdr *h;

		if (n < 0)
			die("recv");
		total += n;
		for (h = (struct nlmsghdr *)nl->rx; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != nl->seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				int err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;

				return err ? err : total;
			}
			if (h->nlmsg_type == NLMSG_DONE) {
				int err = *(int *)NLMSG_DATA(h);

				return err < 0 ? err : total;
			}
			if (first && !have_first && h->nlmsg_len <= first_len) {
				memcpy(first, h, h->nlmsg_len);
				have_first = 1;
			}
			/* A single answer without NLM_F_MULTI ends the request. */
			if (!(h->nlmsg_flags & NLM_F_MULTI) && !(r->nh.nlmsg_flags & NLM_F_ACK))
				return total;
		}
	}
}

static void nl_open(struct nl *nl)
{
	char buf[4096];
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	struct nlattr *a;
	struct req r;
	long rem;

	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl->fd < 0)
		die("socket");
	nl->rx = malloc(RX_SIZE);
	if (!nl->rx)
		die("malloc");
	nl->seq = 0;
	start(nl, &r, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0);
	put_str(&r, CTRL_ATTR_FAMILY_NAME, DEVLINK_GENL_NAME);
	if (transact(nl, &r, h, sizeof(buf)) < 0 || h->nlmsg_type != GENL_ID_CTRL) {
		errno = ENOENT;
		die("devlink family");
	}
	rem = h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	for (a = (struct nlattr *)((char *)NLMSG_DATA(h) + GENL_HDRLEN);
	     rem >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= rem;
	     rem -= NLA_ALIGN(a->nla_len),
	     a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len)))
		if (a->nla_type == CTRL_ATTR_FAMILY_ID) {
			nl->family = *(__u16 *)((char *)a + NLA_HDRLEN);
			return;
		}
	errno = ENOENT;
	die("devlink family id");
}

/* A health request on reporter @name of devlink instance @handle (bus/dev). */
static void reporter_req(struct nl *nl, struct req *r, __u8 cmd, __u16 flags,
			 const char *handle, const char *name)
{
	char bus[64];
	const char *slash = strchr(handle, '/');

	if (!slash || slash - handle >= (long)sizeof(bus)) {
		fprintf(stderr, "hbench: bad handle '%s'\n", handle);
		exit(2);
	}
	memcpy(bus, handle, slash - handle);
	bus[slash - handle] = 0;
	start(nl, r, nl->family, cmd, flags);
	put_str(r, DEVLINK_ATTR_BUS_NAME, bus);
	put_str(r, DEVLINK_ATTR_DEV_NAME, slash + 1);
	put_str(r, DEVLINK_ATTR_HEALTH_REPORTER_NAME, name);
}

static void check(long rc, const char *what)
{
	if (rc < 0) {
		errno = -rc;
		die(what);
	}
}

static int cmd_diagnose(const char *name, long count, char **handles, int n)
{
	double *v = figures(n, count), t0;
	struct nl nl;
	struct req r;
	long i;
	int h;

	nl_open(&nl);
	for (i = 0; i < count; i++)
		for (h = 0; h < n; h++) {
			reporter_req(&nl, &r, DEVLINK_CMD_HEALTH_REPORTER_DIAGNOSE, 0, handles[h],
				     name);
			t0 = now_ns();
			check(transact(&nl, &r, NULL, 0), "diagnose");
			v[h * count + i] = now_ns() - t0;
		}
	for (h = 0; h < n; h++)
		printf("median_us=%.1f min_us=%.1f\n", median(v + h * count, count) / 1e3,
		       least(v + h * count, count) / 1e3);
	return 0;
}

static int cmd_dump(const char *name, long count, char **handles, int n)
{
	double *v = figures(n, count), t0;
	long *bytes = calloc(n, sizeof(*bytes)), i;
	struct nl nl;
	struct req r;
	int h;

	if (!bytes)
		die("calloc");
	nl_open(&nl);
	for (i = 0; i < count; i++)
		for (h = 0; h < n; h++) {
			reporter_req(&nl, &r, DEVLINK_CMD_HEALTH_REPORTER_DUMP_CLEAR, NLM_F_ACK,
				     handles[h], name);
			check(transact(&nl, &r, NULL, 0), "dump clear");
			reporter_req(&nl, &r, DEVLINK_CMD_HEALTH_REPORTER_DUMP_GET, NLM_F_DUMP,
				     handles[h], name);
			t0 = now_ns();
			bytes[h] = transact(&nl, &r, NULL, 0);
			check(bytes[h], "dump show");
			v[h * count + i] = now_ns() - t0;
		}
	for (h = 0; h < n; h++)
		printf("median_ms=%.2f min_ms=%.2f bytes=%ld\n", median(v + h * count, count) / 1e6,
		       least(v + h * count, count) / 1e6, bytes[h]);
	return 0;
}

static void write_file(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, value, strlen(value)) < 0)
		die(path);
	close(fd);
}

static int cmd_load(const char *ko, char **actions, int n)
{
	double t0 = now_ns();
	int fd, i;

	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(ko);
	if (syscall(SYS_finit_module, fd, "", 0))
		die("finit_module");
	close(fd);
	for (i = 0; i < n; i++) {
		char *a = actions[i], *eq = strchr(a, '=');

		if (!strncmp(a, "mkdir:", 6)) {
			if (mkdir(a + 6, 0755))
				die(a + 6);
		} else if (!strncmp(a, "write:", 6) && eq) {
			*eq = 0;
			write_file(a + 6, eq + 1);
		} else {
			print_usage();
		}
	}
	printf("ms=%.2f\n", (now_ns() - t0) / 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "report"))
		return cmd_report(count_arg(argv[2]), count_arg(argv[3]), argv + 4, argc - 4);
	if (argc >= 5 && !strcmp(argv[1], "diagnose"))
		return cmd_diagnose(argv[2], count_arg(argv[3]), argv + 4, argc - 4);
	if (argc >= 5 && !strcmp(argv[1], "dump"))
		return cmd_dump(argv[2], count_arg(argv[3]), argv + 4, argc - 4);
	if (argc >= 3 && !strcmp(argv[1], "load"))
		return cmd_load(argv[2], argv + 3, argc - 3);
	print_usage();
}
