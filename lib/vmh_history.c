/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "vmh_history.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmh_bytes.h"
#include "vmh_file.h"
#include "vmh_sha256.h"

#define FILE_MAGIC "VMHHISTO"
#define FILE_VERSION 1
#define FILE_HDR_LEN 56
#define FILE_MAX (FILE_HDR_LEN + (size_t)VMH_HIST_MAX * VMH_HIST_ENTRY_LEN)

void vmh_hist_init(struct vmh_history *h)
{
	memset(h, 0, sizeof(*h));
}

void vmh_hist_free(struct vmh_history *h)
{
	free(h->e);
	memset(h, 0, sizeof(*h));
}

struct vmh_hist_entry *vmh_hist_open(struct vmh_history *h, const char *vm)
{
	for (size_t i = h->n; i-- > 0;)
		if (h->e[i].outcome == VMH_HIST_MIGRATING && strcmp(h->e[i].vm, vm) == 0)
			return &h->e[i];
	return NULL;
}

static void drop_at(struct vmh_history *h, size_t i)
{
	memmove(&h->e[i], &h->e[i + 1], (h->n - i - 1) * sizeof(h->e[0]));
	h->n--;
}

/* The oldest entries go: vm's beyond VMH_HIST_PER_VM, anyone's beyond
 * VMH_HIST_MAX. */
static void trim(struct vmh_history *h, const char *vm)
{
	size_t n_vm = 0;

	for (size_t i = 0; i < h->n; i++)
		n_vm += strcmp(h->e[i].vm, vm) == 0;
	for (size_t i = 0; n_vm > VMH_HIST_PER_VM && i < h->n;) {
		if (strcmp(h->e[i].vm, vm) == 0) {
			drop_at(h, i);
			n_vm--;
		} else {
			i++;
		}
	}
	while (h->n > VMH_HIST_MAX)
		drop_at(h, 0);
}

int vmh_hist_add(struct vmh_history *h, const struct vmh_hist_entry *e)
{
	size_t at;

	if (!vmh_hist_entry_ok(e))
		return -EINVAL;
	if (e->outcome == VMH_HIST_MIGRATING && vmh_hist_open(h, e->vm))
		return -EEXIST;
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 16;
		struct vmh_hist_entry *grown = realloc(h->e, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		h->e = grown;
		h->cap = cap;
	}
	/* after every entry that started no later (stable for equal times) */
	for (at = h->n; at > 0 && h->e[at - 1].start_ms > e->start_ms; at--)
		;
	memmove(&h->e[at + 1], &h->e[at], (h->n - at) * sizeof(h->e[0]));
	h->e[at] = *e;
	h->n++;
	trim(h, e->vm);
	return 0;
}

int vmh_hist_end(struct vmh_history *h, const char *vm, enum vmh_hist_outcome outcome,
		 uint32_t owner_after, uint64_t end_epoch, uint64_t duration_ms, bool late)
{
	struct vmh_hist_entry *open = vmh_hist_open(h, vm), ended;

	if (!open)
		return -ENOENT;
	ended = *open;
	ended.outcome = outcome;
	ended.owner_after = owner_after;
	ended.end_epoch = end_epoch;
	ended.duration_ms = duration_ms;
	if (late)
		ended.flags |= VMH_HIST_F_LATE;
	if (outcome == VMH_HIST_MIGRATING || !vmh_hist_entry_ok(&ended))
		return -EINVAL;
	*open = ended;
	return 0;
}

static bool same_handoff(const struct vmh_hist_entry *a, const struct vmh_hist_entry *b)
{
	if (strcmp(a->vm, b->vm) != 0 || a->src != b->src || a->dst != b->dst)
		return false;
	/* every node that delivered the end has the same end epoch; the
	 * begin epoch differs only where the begin was learned late */
	return (a->end_epoch && a->end_epoch == b->end_epoch) || a->begin_epoch == b->begin_epoch;
}

/* One figure of in into e, if in knows it; true if e changed. */
static bool take_figure(struct vmh_hist_entry *e, uint64_t *dst, const struct vmh_hist_entry *in,
			uint64_t src, uint8_t flag)
{
	bool changed;

	if (!(in->flags & flag))
		return false;
	changed = !(e->flags & flag) || *dst != src;
	e->flags |= flag;
	*dst = src;
	return changed;
}

int vmh_hist_merge(struct vmh_history *h, const struct vmh_hist_entry *in)
{
	int r;

	if (!vmh_hist_entry_ok(in))
		return -EINVAL;
	if (in->outcome == VMH_HIST_MIGRATING)
		return 0;
	for (size_t i = h->n; i-- > 0;) {
		struct vmh_hist_entry *e = &h->e[i];
		bool changed = false;

		if (!same_handoff(e, in))
			continue;
		if (e->outcome == VMH_HIST_MIGRATING)
			return 0;
		changed |= take_figure(e, &e->bytes, in, in->bytes, VMH_HIST_F_BYTES);
		changed |= take_figure(e, &e->job_ms, in, in->job_ms, VMH_HIST_F_JOB);
		changed |= take_figure(e, &e->downtime_ms, in, in->downtime_ms, VMH_HIST_F_DOWNTIME);
		changed |= take_figure(e, &e->resume_us, in, in->resume_us, VMH_HIST_F_RESUME);
		return changed ? 1 : 0;
	}
	r = vmh_hist_add(h, in);
	return r < 0 ? r : 2;
}

size_t vmh_hist_find(const struct vmh_history *h, const char *vm, struct vmh_hist_entry *out,
		     size_t max)
{
	size_t total = 0, skip, n = 0;

	for (size_t i = 0; i < h->n; i++)
		total += strcmp(h->e[i].vm, vm) == 0;
	skip = total > max ? total - max : 0;
	for (size_t i = 0; i < h->n && n < max; i++) {
		if (strcmp(h->e[i].vm, vm) != 0)
			continue;
		if (skip) {
			skip--;
			continue;
		}
		out[n++] = h->e[i];
	}
	return n;
}

/* ---- the file ------------------------------------------------------------ */

int vmh_hist_save(const char *dir, const struct vmh_history *h)
{
	struct vmh_bw w = { 0 };
	int r;

	w.cap = FILE_HDR_LEN + h->n * VMH_HIST_ENTRY_LEN;
	w.p = calloc(1, w.cap);
	if (!w.p)
		return -ENOMEM;
	w.pos = FILE_HDR_LEN;
	for (size_t i = 0; i < h->n; i++)
		vmh_hist_put_entry(&w, &h->e[i]);
	memcpy(w.p, FILE_MAGIC, 8);
	vmh_le_put(w.p + 8, FILE_VERSION, 2);
	vmh_le_put(w.p + 12, h->n, 4);
	vmh_le_put(w.p + 16, w.cap - FILE_HDR_LEN, 8);
	vmh_sha256(w.p + FILE_HDR_LEN, w.cap - FILE_HDR_LEN, w.p + 24);
	r = vmh_file_replace(dir, VMH_HIST_FILE, w.p, w.cap, NULL, 0);
	free(w.p);
	return r;
}

/* The body's entries into h; *why on a flaw. */
static int load_entries(struct vmh_history *h, const uint8_t *body, size_t count,
			const char **why)
{
	struct vmh_br r = { .p = body, .len = count * VMH_HIST_ENTRY_LEN };
	struct vmh_hist_entry e;
	int rc;

	for (size_t i = 0; i < count; i++) {
		if (!vmh_hist_get_entry(&r, &e)) {
			*why = "an invalid entry";
			return -EBADMSG;
		}
		if (i && e.start_ms < h->e[h->n - 1].start_ms) {
			*why = "entries out of order";
			return -EBADMSG;
		}
		rc = vmh_hist_add(h, &e);
		if (rc == -EEXIST) {
			*why = "two open entries of one VM";
			return -EBADMSG;
		}
		if (rc < 0)
			return rc;
		if (h->n != i + 1) {
			*why = "more entries than the bounds allow";
			return -EBADMSG;
		}
	}
	return 0;
}

int vmh_hist_load(const char *dir, struct vmh_history *h, const char **why)
{
	uint8_t digest[VMH_SHA256_LEN];
	uint8_t *buf = NULL;
	uint64_t count, body_len;
	size_t len = 0;
	char *path;
	int r;

	vmh_hist_free(h);
	*why = "";
	if (asprintf(&path, "%s/%s", dir, VMH_HIST_FILE) < 0)
		return -ENOMEM;
	r = vmh_file_read(path, FILE_MAX, (char **)&buf, &len);
	free(path);
	if (r == -EFBIG) {
		*why = "larger than any history written";
		return -EBADMSG;
	}
	if (r < 0)
		return r;
	r = -EBADMSG;
	if (len < FILE_HDR_LEN || memcmp(buf, FILE_MAGIC, 8) != 0) {
		*why = len < FILE_HDR_LEN ? "truncated header" : "not a history file (bad magic)";
		goto out;
	}
	count = vmh_le_get(buf + 12, 4);
	body_len = vmh_le_get(buf + 16, 8);
	if (vmh_le_get(buf + 8, 2) != FILE_VERSION || vmh_le_get(buf + 10, 2) != 0) {
		*why = "unsupported file version";
		goto out;
	}
	if (count > VMH_HIST_MAX || body_len != count * VMH_HIST_ENTRY_LEN ||
	    body_len != len - FILE_HDR_LEN) {
		*why = "lengths do not agree";
		goto out;
	}
	vmh_sha256(buf + FILE_HDR_LEN, (size_t)body_len, digest);
	if (memcmp(digest, buf + 24, sizeof(digest)) != 0) {
		*why = "checksum mismatch";
		goto out;
	}
	r = load_entries(h, buf + FILE_HDR_LEN, (size_t)count, why);
	if (r < 0)
		vmh_hist_free(h);
out:
	free(buf);
	return r;
}
