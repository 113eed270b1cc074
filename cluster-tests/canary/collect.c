/*
 * collect.c - canary-collect: timestamps the canary tick streams of one
 * simulated host.
 *
 *   canary-collect --host NAME --dir DIR --log FILE|- [--gap-ms G] [--stats]
 *                  [--ticks] [--hex]
 *
 * Every QEMU of the host serves its debugcon at DIR/<vm>.sock.  One poll()
 * loop over fixed slots: a signalfd, an inotify watch on DIR, and one
 * non-blocking connection per socket.  Received lines are stamped with
 * CLOCK_REALTIME when read() returns; events are appended to FILE, one
 * write(2) per line on an O_APPEND descriptor, so several collectors can
 * share one file:
 *
 *   <ts_ns> <host> <vm> connect
 *   <ts_ns> <host> <vm> boot <bootid> <rest of the boot line>
 *   <ts_ns> <host> <vm> first <seq>
 *   <ts_ns> <host> <vm> gap <seq_before> <ts_before_ns> <seq_after>
 *   <ts_ns> <host> <vm> seqjump <prev> <new>
 *   <ts_ns> <host> <vm> hb <seq> [n= min_us= avg_us= max_us= with --stats]
 *   <ts_ns> <host> <vm> msg <any other line, sanitised>
 *   <ts_ns> <host> <vm> tick <seq>            (every tick, with --ticks)
 *   <ts_ns> <host> <vm> last <seq> <ts_of_last_tick_ns>
 *   <ts_ns> <host> <vm> disconnect
 *
 * seq numbers are printed in decimal (what invariants.py reads), or in hex
 * as the guest sends them with --hex.  --decimal (the default) is still
 * accepted, for callers written when hex was the default; the last of
 * --hex / --decimal wins.
 *
 * NOTE: QEMU's chardev drops guest output while no client is connected and
 * accepts one client at a time.  The guest writes a line one outb at a
 * time and can be stopped between two of them, so a connection can begin in
 * the middle of a line and a migration can split a line between the source
 * and the destination.  The
 * first tick line of a connection is held until the second one: if it is
 * the tail of the line for (second - 1) it counts as that tick, arriving
 * when its tail arrived.  `first` is therefore written one tick late, with
 * the first tick's timestamp.
 * NOTE: a partial line at EOF is dropped; `last` names the last complete
 * tick line.  A boot line restarts tick tracking (the next tick is `first`).
 * NOTE: `last`/`disconnect` are also written for open streams at SIGTERM or
 * SIGINT, so every `connect` has its `disconnect`.
 * NOTE: inotify sees the socket at bind(), before QEMU's listen(); the first
 * connect attempts are refused and retried (2 ms growing to 50 ms, for 3 s).
 * NOTE: a socket file that is deleted or replaced ends its stream even if
 * the QEMU behind it still runs.  QEMU unlinks an existing path before it
 * binds, so two QEMUs of the same VM must never share DIR (the lab's hosts
 * each have a private /run): the destination of a migration would take the
 * source's socket over.
 * NOTE: timestamps are taken when read() returns, so they include QEMU's
 * chardev and this loop's latency (well under 1 ms here: 32 streams of
 * 1000 lines/s cost 8% of a CPU).  The machine's own scheduling noise
 * (a plain 2 ms sleep loop on the lab VM: p99 4.5 ms, max ~50 ms) shows
 * up as `gap` events with the default 3-tick threshold.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_STREAMS 128
#define LINE_CAP 256
#define READ_CHUNK 65536
#define READS_PER_WAKE 16	/* fairness between busy streams */
#define RETRY_GIVE_UP_NS 3000000000LL
#define HB_NS 1000000000LL
#define NS_PER_MS 1000000LL
#define DEFAULT_GAP_NS (10 * NS_PER_MS)
#define PERIOD_SAMPLES 33	/* odd: the median is one sample */
#define SOCK_SUFFIX ".sock"
#define HOST_MAX 64

enum slot_state {
	SLOT_FREE = 0,
	SLOT_RETRY,		/* socket seen, not (yet) connected */
	SLOT_CONNECTED,
};

struct stream {
	enum slot_state state;
	char name[NAME_MAX + 1];	/* VM name: file name without .sock */
	int fd;
	int64_t retry_since, retry_at;	/* CLOCK_MONOTONIC ns */
	int retry_delay_ms;

	char line[LINE_CAP];
	size_t len;
	bool any_line;			/* a full line was seen on this connection */

	/* first tick of a connection, held until the second (see NOTE) */
	bool first_held;
	bool first_maybe_tail;
	uint64_t first_seq;
	int64_t first_ts;
	unsigned first_digits;

	bool ticking;			/* prev_* valid */
	uint64_t prev_seq;
	int64_t prev_ts;
	int64_t hb_ts;
	int64_t period_ns;		/* 0: unknown */
	int64_t samples[PERIOD_SAMPLES];
	unsigned n_samples;

	uint64_t st_n;			/* --stats: intervals since last hb */
	int64_t st_min, st_max, st_sum;
};

struct collector {
	const char *host;
	const char *dir;
	int log_fd;
	int64_t gap_ns;			/* 0: inferred per stream */
	bool stats;
	bool ticks;
	bool hex;			/* --hex: seq as the guest sends it */
	int sig_fd;
	int ino_fd;
	bool log_broken;
	struct stream slots[MAX_STREAMS];
};

static char rbuf[READ_CHUNK];

static int64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Log fields are space-separated: names get no spaces, text keeps them. */
static void sanitise(char *s, bool keep_spaces)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s >= 0x7f ||
		    (*s == ' ' && !keep_spaces))
			*s = '?';
}

static void log_event(struct collector *c, const struct stream *st, int64_t ts,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* One event, one write(2): atomic with O_APPEND even if the file is shared. */
static void log_event(struct collector *c, const struct stream *st, int64_t ts,
		      const char *fmt, ...)
{
	char buf[LINE_CAP + NAME_MAX + 256];
	va_list ap;
	int n, m;

	n = snprintf(buf, sizeof(buf), "%" PRId64 " %s %s ", ts, c->host,
		     st->name);
	if (n < 0 || (size_t)n >= sizeof(buf) / 2)
		return; /* cannot happen: host and name lengths are bounded */
	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(c->log_fd, buf, (size_t)n) != n && !c->log_broken) {
		c->log_broken = true;
		fprintf(stderr, "canary-collect: %s: write to log failed: %s\n",
			__func__, strerror(errno));
	}
}

/* seq as the log shows it: decimal, or hex like the guest sends it (--hex) */
struct seqbuf {
	char s[24];
};

static const char *seq_str(const struct collector *c, uint64_t seq,
			   struct seqbuf *b)
{
	snprintf(b->s, sizeof(b->s), c->hex ? "%" PRIx64 : "%" PRIu64, seq);
	return b->s;
}

static int64_t gap_threshold(const struct collector *c, const struct stream *st)
{
	if (c->gap_ns > 0)
		return c->gap_ns;
	if (st->period_ns > 0)
		return 3 * st->period_ns;
	return DEFAULT_GAP_NS;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Without a boot line, the period is the median of the first intervals. */
static void learn_period(struct stream *st, int64_t dt)
{
	int64_t sorted[PERIOD_SAMPLES], med;

	if (st->period_ns > 0 || st->n_samples >= PERIOD_SAMPLES)
		return;
	st->samples[st->n_samples++] = dt;
	if (st->n_samples < PERIOD_SAMPLES)
		return;
	memcpy(sorted, st->samples, sizeof(sorted));
	qsort(sorted, PERIOD_SAMPLES, sizeof(sorted[0]), cmp_i64);
	med = (sorted[PERIOD_SAMPLES / 2] + NS_PER_MS / 2) / NS_PER_MS;
	st->period_ns = (med < 1 ? 1 : med) * NS_PER_MS;
}

static void stats_reset(struct stream *st)
{
	st->st_n = 0;
	st->st_min = INT64_MAX;
	st->st_max = 0;
	st->st_sum = 0;
}

static void heartbeat(struct collector *c, struct stream *st, int64_t ts)
{
	struct seqbuf b;

	if (ts - st->hb_ts < HB_NS)
		return;
	st->hb_ts = ts;
	if (!c->stats || st->st_n == 0) {
		log_event(c, st, ts, "hb %s", seq_str(c, st->prev_seq, &b));
	} else {
		log_event(c, st, ts,
			  "hb %s n=%" PRIu64 " min_us=%" PRId64
			  " avg_us=%" PRId64 " max_us=%" PRId64,
			  seq_str(c, st->prev_seq, &b), st->st_n, st->st_min / 1000,
			  st->st_sum / (int64_t)st->st_n / 1000,
			  st->st_max / 1000);
	}
	stats_reset(st);
}

static void tick_begin(struct collector *c, struct stream *st, uint64_t seq,
		       int64_t ts)
{
	struct seqbuf b;

	log_event(c, st, ts, "first %s", seq_str(c, seq, &b));
	if (c->ticks)
		log_event(c, st, ts, "tick %s", b.s);
	st->ticking = true;
	st->prev_seq = seq;
	st->prev_ts = ts;
	st->hb_ts = ts;
	stats_reset(st);
}

static void tick_next(struct collector *c, struct stream *st, uint64_t seq,
		      int64_t ts)
{
	int64_t dt = ts - st->prev_ts;
	struct seqbuf prev, cur;

	if (c->ticks)
		log_event(c, st, ts, "tick %s", seq_str(c, seq, &cur));
	if (dt > gap_threshold(c, st))
		log_event(c, st, ts, "gap %s %" PRId64 " %s",
			  seq_str(c, st->prev_seq, &prev), st->prev_ts,
			  seq_str(c, seq, &cur));
	if (seq != st->prev_seq + 1)
		log_event(c, st, ts, "seqjump %s %s",
			  seq_str(c, st->prev_seq, &prev), seq_str(c, seq, &cur));
	else
		learn_period(st, dt);
	if (dt < st->st_min)
		st->st_min = dt;
	if (dt > st->st_max)
		st->st_max = dt;
	st->st_sum += dt;
	st->st_n++;
	st->prev_seq = seq;
	st->prev_ts = ts;
	heartbeat(c, st, ts);
}

static void release_held_first(struct collector *c, struct stream *st)
{
	if (!st->first_held)
		return;
	st->first_held = false;
	tick_begin(c, st, st->first_seq, st->first_ts);
}

static void on_tick(struct collector *c, struct stream *st, uint64_t seq,
		    unsigned digits, int64_t ts)
{
	if (st->ticking) {
		tick_next(c, st, seq, ts);
		return;
	}
	if (!st->first_held) {
		st->first_held = true;
		st->first_maybe_tail = !st->any_line;
		st->first_seq = seq;
		st->first_ts = ts;
		st->first_digits = digits;
		return;
	}
	st->first_held = false;
	if (st->first_maybe_tail && seq > 0 && st->first_digits < 16) {
		uint64_t mod = 1ULL << (4 * st->first_digits);

		if ((seq - 1) >= mod && (seq - 1) % mod == st->first_seq)
			st->first_seq = seq - 1; /* it was that line's tail */
	}
	tick_begin(c, st, st->first_seq, st->first_ts);
	tick_next(c, st, seq, ts);
}

static bool parse_hex(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 16)
		return false;
	for (i = 0; i < n; i++) {
		char ch = s[i];
		unsigned d;

		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else
			return false;
		v = (v << 4) | d;
	}
	*out = v;
	return true;
}

static void on_boot_line(struct collector *c, struct stream *st, char *l,
			 int64_t ts)
{
	const char *tm = strstr(l, " tick_ms=");

	release_held_first(c, st);
	st->ticking = false;
	st->n_samples = 0;
	st->period_ns = 0;
	if (tm != NULL) {
		long ms = strtol(tm + 9, NULL, 10);

		if (ms > 0 && ms <= 60000)
			st->period_ns = ms * NS_PER_MS;
	}
	sanitise(l + 2, true);
	log_event(c, st, ts, "boot %s", l + 2);
}

static void on_line(struct collector *c, struct stream *st, char *l, size_t n,
		    int64_t ts)
{
	uint64_t seq;

	if (parse_hex(l, n, &seq)) {
		on_tick(c, st, seq, (unsigned)n, ts);
	} else if (n >= 12 && l[0] == 'B' && l[1] == ' ' &&
		   parse_hex(l + 2, 8, &seq) && l[10] == ' ') {
		on_boot_line(c, st, l, ts);
	} else if (n > 0) {
		sanitise(l, true);
		log_event(c, st, ts, "msg %s", l);
	}
	st->any_line = true;
}

static void on_data(struct collector *c, struct stream *st, const char *p,
		    size_t n, int64_t ts)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl != NULL ? (size_t)(nl - p) : n;
		size_t room = LINE_CAP - 1 - st->len;

		memcpy(st->line + st->len, p, take < room ? take : room);
		st->len += take < room ? take : room; /* overlong: truncated */
		if (nl == NULL)
			return;
		st->line[st->len] = '\0';
		on_line(c, st, st->line, st->len, ts);
		st->len = 0;
		p += take + 1;
		n -= take + 1;
	}
}

static void stream_close(struct collector *c, struct stream *st, int64_t ts)
{
	struct seqbuf b;

	release_held_first(c, st);
	if (st->ticking)
		log_event(c, st, ts, "last %s %" PRId64,
			  seq_str(c, st->prev_seq, &b), st->prev_ts);
	log_event(c, st, ts, "disconnect");
	close(st->fd);
	st->fd = -1;
	st->state = SLOT_FREE;
}

/* Reads what is there; returns false if the stream ended (and closed it). */
static bool stream_read(struct collector *c, struct stream *st, int max_reads)
{
	int i;

	for (i = 0; i < max_reads; i++) {
		ssize_t r = read(st->fd, rbuf, sizeof(rbuf));
		int64_t ts = now_ns(CLOCK_REALTIME);

		if (r > 0) {
			on_data(c, st, rbuf, (size_t)r, ts);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		stream_close(c, st, ts);
		return false;
	}
	return true;
}

static void stream_try_connect(struct collector *c, struct stream *st)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t mono = now_ns(CLOCK_MONOTONIC);
	int fd, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s" SOCK_SUFFIX,
		     c->dir, st->name);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		fprintf(stderr, "canary-collect: %s: socket path too long: %s/%s%s\n",
			__func__, c->dir, st->name, SOCK_SUFFIX);
		st->state = SLOT_FREE;
		return;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "canary-collect: %s: socket: %s\n", __func__,
			strerror(errno));
		goto retry;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		memset(&st->line, 0, sizeof(*st) - offsetof(struct stream, line));
		st->fd = fd;
		st->state = SLOT_CONNECTED;
		log_event(c, st, now_ns(CLOCK_REALTIME), "connect");
		return;
	}
	close(fd);
retry:
	if (mono - st->retry_since > RETRY_GIVE_UP_NS) {
		fprintf(stderr, "canary-collect: %s: giving up on %s: %s\n",
			__func__, sa.sun_path, strerror(errno));
		st->state = SLOT_FREE;
		return;
	}
	st->retry_at = mono + st->retry_delay_ms * NS_PER_MS;
	st->retry_delay_ms = st->retry_delay_ms >= 25 ? 50 : st->retry_delay_ms * 2;
}

static struct stream *slot_find(struct collector *c, const char *name)
{
	int i;

	for (i = 0; i < MAX_STREAMS; i++)
		if (c->slots[i].state != SLOT_FREE &&
		    strcmp(c->slots[i].name, name) == 0)
			return &c->slots[i];
	return NULL;
}

/* "vm.sock" -> "vm"; false for other names. */
static bool vm_name(const char *file, char *out)
{
	size_t n = strlen(file), sl = strlen(SOCK_SUFFIX);

	if (n <= sl || strcmp(file + n - sl, SOCK_SUFFIX) != 0)
		return false;
	memcpy(out, file, n - sl);
	out[n - sl] = '\0';
	return true;
}

static void socket_appeared(struct collector *c, const char *file)
{
	char name[NAME_MAX + 1];
	struct stream *st;
	int i;

	if (!vm_name(file, name))
		return;
	st = slot_find(c, name);
	if (st != NULL && st->state == SLOT_CONNECTED) {
		/* a new QEMU replaced the socket: the old stream is over */
		if (stream_read(c, st, READS_PER_WAKE))
			stream_close(c, st, now_ns(CLOCK_REALTIME));
		st = NULL;
	}
	for (i = 0; st == NULL && i < MAX_STREAMS; i++)
		if (c->slots[i].state == SLOT_FREE)
			st = &c->slots[i];
	if (st == NULL) {
		fprintf(stderr, "canary-collect: %s: more than %d sockets, ignoring %s\n",
			__func__, MAX_STREAMS, file);
		return;
	}
	snprintf(st->name, sizeof(st->name), "%s", name);
	sanitise(st->name, false);
	st->state = SLOT_RETRY;
	st->fd = -1;
	st->retry_since = now_ns(CLOCK_MONOTONIC);
	st->retry_delay_ms = 2;
	stream_try_connect(c, st);
}

static void socket_vanished(struct collector *c, const char *file)
{
	char name[NAME_MAX + 1];
	struct stream *st;

	if (!vm_name(file, name) || (st = slot_find(c, name)) == NULL)
		return;
	if (st->state == SLOT_RETRY) {
		st->state = SLOT_FREE;
		return;
	}
	if (stream_read(c, st, READS_PER_WAKE)) /* take what is still queued */
		stream_close(c, st, now_ns(CLOCK_REALTIME));
}

static int inotify_dispatch(struct collector *c)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;
	char *p;

	n = read(c->ino_fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	for (p = buf; p < buf + n;) {
		const struct inotify_event *ev = (const struct inotify_event *)p;

		if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
			fprintf(stderr, "canary-collect: %s: %s went away\n",
				__func__, c->dir);
			return -ENOENT;
		}
		if (ev->len > 0 && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
			socket_appeared(c, ev->name);
		else if (ev->len > 0 && (ev->mask & (IN_DELETE | IN_MOVED_FROM)))
			socket_vanished(c, ev->name);
		p += sizeof(*ev) + ev->len;
	}
	return 0;
}

static int initial_scan(struct collector *c)
{
	struct dirent *de;
	DIR *d = opendir(c->dir);

	if (d == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX];
		struct stat sb;

		snprintf(path, sizeof(path), "%s/%s", c->dir, de->d_name);
		if (stat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
			socket_appeared(c, de->d_name);
	}
	closedir(d);
	return 0;
}

static int mkdir_p(const char *dir)
{
	char tmp[PATH_MAX];
	char *p;

	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int collector_open(struct collector *c, const char *log_path)
{
	sigset_t mask;
	int r;

	c->log_fd = c->sig_fd = c->ino_fd = -1;
	if (strcmp(log_path, "-") == 0)
		c->log_fd = STDOUT_FILENO;
	else
		c->log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
				 0644);
	if (c->log_fd < 0) {
		r = -errno;
		fprintf(stderr, "canary-collect: %s: %s: %s\n", __func__, log_path,
			strerror(-r));
		return r;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	c->sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (c->sig_fd < 0)
		return -errno;
	r = mkdir_p(c->dir);
	if (r < 0) {
		fprintf(stderr, "canary-collect: %s: mkdir %s: %s\n", __func__,
			c->dir, strerror(-r));
		return r;
	}
	c->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (c->ino_fd < 0)
		return -errno;
	/* watch before scanning: a socket made in between is seen twice at worst */
	if (inotify_add_watch(c->ino_fd, c->dir,
			      IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM |
				      IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR) < 0) {
		r = -errno;
		fprintf(stderr, "canary-collect: %s: inotify %s: %s\n", __func__,
			c->dir, strerror(-r));
		return r;
	}
	return initial_scan(c);
}

static void collector_shutdown(struct collector *c)
{
	int64_t ts = now_ns(CLOCK_REALTIME);
	int i;

	/* nothing is buffered: every event is already one write(2) */
	for (i = 0; i < MAX_STREAMS; i++)
		if (c->slots[i].state == SLOT_CONNECTED)
			stream_close(c, &c->slots[i], ts);
}

/* Returns 0 on a signal, -errno on a fatal error. */
static int collector_run(struct collector *c)
{
	struct pollfd pfd[MAX_STREAMS + 2];
	struct stream *owner[MAX_STREAMS + 2];

	for (;;) {
		int64_t mono = now_ns(CLOCK_MONOTONIC), next = -1;
		int i, n = 2, timeout = -1, r;

		pfd[0] = (struct pollfd){ .fd = c->sig_fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = c->ino_fd, .events = POLLIN };
		for (i = 0; i < MAX_STREAMS; i++) {
			struct stream *st = &c->slots[i];

			if (st->state == SLOT_CONNECTED) {
				owner[n] = st;
				pfd[n++] = (struct pollfd){ .fd = st->fd,
							    .events = POLLIN };
			} else if (st->state == SLOT_RETRY &&
				   (next < 0 || st->retry_at < next)) {
				next = st->retry_at;
			}
		}
		if (next >= 0)
			timeout = next <= mono ? 0 : (int)((next - mono + NS_PER_MS - 1) / NS_PER_MS);

		if (poll(pfd, (nfds_t)n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* streams first: their timestamps matter most */
		for (i = 2; i < n; i++)
			if (pfd[i].revents != 0)
				stream_read(c, owner[i], READS_PER_WAKE);
		if (pfd[0].revents != 0)
			return 0;
		if (pfd[1].revents != 0 && (r = inotify_dispatch(c)) < 0)
			return r;
		mono = now_ns(CLOCK_MONOTONIC);
		for (i = 0; i < MAX_STREAMS; i++)
			if (c->slots[i].state == SLOT_RETRY &&
			    c->slots[i].retry_at <= mono)
				stream_try_connect(c, &c->slots[i]);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: canary-collect --host NAME --dir DIR --log FILE|- "
		   "[--gap-ms G] [--stats] [--ticks] [--hex]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "dir", required_argument, NULL, 'd' },
		{ "log", required_argument, NULL, 'l' },
		{ "gap-ms", required_argument, NULL, 'g' },
		{ "stats", no_argument, NULL, 's' },
		{ "ticks", no_argument, NULL, 't' },
		{ "decimal", no_argument, NULL, 'D' },	/* the default */
		{ "hex", no_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	static struct collector c;
	const char *log_path = NULL;
	char *end;
	long g;
	int o, r;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'h': c.host = optarg; break;
		case 'd': c.dir = optarg; break;
		case 'l': log_path = optarg; break;
		case 's': c.stats = true; break;
		case 't': c.ticks = true; break;
		case 'D': c.hex = false; break;
		case 'X': c.hex = true; break;
		case 'g':
			g = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || g <= 0 || g > 3600000) {
				fprintf(stderr, "canary-collect: bad --gap-ms: %s\n", optarg);
				return 2;
			}
			c.gap_ns = g * NS_PER_MS;
			break;
		case 'H': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (c.host == NULL || c.dir == NULL || log_path == NULL || optind != argc ||
	    strpbrk(c.host, " \t\n") != NULL || *c.host == '\0' ||
	    strlen(c.host) > HOST_MAX) {
		usage(stderr);
		return 2;
	}
	r = collector_open(&c, log_path);
	if (r == 0)
		r = collector_run(&c);
	collector_shutdown(&c);
	if (r < 0) {
		fprintf(stderr, "canary-collect: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}
