/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The agent's side of vmhandoffd's owner registry (registry=true): one
 * function per use, each one request to the local daemon (lib/vmh_ipc.h)
 * within the time the action can spare, each logging what the registry
 * answered with the VM's name and the reason.
 *
 *   start         CONFIG_GET   the registry's definition, if it holds one
 *                 CLAIM        before the domain is created (or resumed)
 *   stop          RELEASE      after the domain is gone
 *   migrate_to    BEGIN        before the migration (gives the target's
 *                              migration-link address)
 *                 COMMIT       after the migrate call succeeded
 *                 ABORT        after it failed or was cancelled
 *   migrate_from  WAIT_OWNER   the daemon resumes the domain on the commit
 *
 * NOTE a request that timed out may still be delivered later (see
 * vmh_ipc.h): its outcome is unknown, and nothing here acts as if it had
 * failed; the registry decides, and vmhandoffd carries out its decision.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ra.h"
#include "vmh_ipc.h"
#include "vmh_log.h"
#include "vmh_time.h"

/* Below this, a request is not worth sending: the daemon could not get a
 * record delivered and answer in time. */
#define MIN_BUDGET_MS 100
/* A claim the registry cannot grant yet is asked again this often. */
#define CLAIM_RETRY_MS 500

static const char *socket_path(const struct ra *ra)
{
	return ra->p.registry_socket ? ra->p.registry_socket : VMH_IPC_DEFAULT_SOCKET;
}

/* The domain's name as the registry's key; false (why says it) if it
 * cannot be one. */
static bool fill_vm(const struct ra *ra, struct vmh_ipc_req *req, char *why, size_t whylen)
{
	size_t len = ra->dom_name ? strlen(ra->dom_name) : 0;

	if (!vmh_reg_name_ok(ra->dom_name, len)) {
		snprintf(why, whylen, "domain name '%s' cannot be a registry key (1 to %d printable "
			 "ASCII characters, no '/'): rename it, or set registry=false",
			 ra->dom_name ? ra->dom_name : "", VMH_REG_NAME_MAX);
		return false;
	}
	memcpy(req->vm, ra->dom_name, len + 1);
	return true;
}

/* What went wrong with a call that got no reply, in words. */
static void describe_errno(const struct ra *ra, int err, int64_t budget_ms,
			   char *buf, size_t len)
{
	switch (err) {
	case -ENOENT:
	case -ECONNREFUSED:
		snprintf(buf, len, "vmhandoffd not reachable at %s: start it, or set registry=false",
			 socket_path(ra));
		break;
	case -EACCES:
		snprintf(buf, len, "vmhandoffd refused the connection at %s: permission denied "
			 "(the agent must run as root or in group haclient)", socket_path(ra));
		break;
	case -ETIMEDOUT:
	case -ETIME:
		snprintf(buf, len, "vmhandoffd at %s did not answer within %lld ms "
			 "(the outcome is unknown)", socket_path(ra), (long long)budget_ms);
		break;
	case -EBADMSG:
		snprintf(buf, len, "vmhandoffd at %s sent a reply that does not decode "
			 "(agent and daemon of different versions?)", socket_path(ra));
		break;
	default:
		snprintf(buf, len, "request to vmhandoffd at %s failed: %s", socket_path(ra),
			 strerror(-err));
		break;
	}
}

/* Why the registry refused: "<daemon's message> (<registry reason>)",
 * without saying the reason twice. */
static void describe_refusal(const struct vmh_ipc_reply *rep, char *buf, size_t len)
{
	const char *reason = vmh_reg_reason_str(rep->reg_reason);

	if (!rep->message[0])
		snprintf(buf, len, "%s", reason);
	else if (strstr(rep->message, reason))
		snprintf(buf, len, "%s", rep->message);
	else
		snprintf(buf, len, "%s (%s)", rep->message, reason);
}

/* What the daemon answered, in words. */
static void describe_reply(const struct vmh_ipc_reply *rep, char *buf, size_t len)
{
	char refusal[VMH_IPC_MESSAGE_MAX + 64];

	if (rep->status == VMH_IPC_E_REJECTED) {
		describe_refusal(rep, refusal, sizeof(refusal));
		snprintf(buf, len, "refused: %s", refusal);
	} else {
		snprintf(buf, len, "%s%s%s%s", vmh_ipc_status_str(rep->status),
			 rep->message[0] ? " (" : "", rep->message, rep->message[0] ? ")" :
			 rep->status == VMH_IPC_E_TIMEOUT ? " (outcome unknown)" : "");
	}
}

/*
 * One request about this resource's VM, with budget_ms for all of it: the
 * daemon gets the budget minus the grace vmh_ipc_call allows a reply (or
 * half the budget, if that is less). 0 with *rep filled (check rep->status; why describes it), or
 * -errno with the reason in why (*rep then owns nothing).
 */
static int call(struct ra *ra, struct vmh_ipc_req *req, int64_t budget_ms,
		struct vmh_ipc_reply *rep, char *why, size_t whylen)
{
	int64_t grace = budget_ms / 2 < VMH_IPC_CALL_GRACE_MS ? budget_ms / 2 : VMH_IPC_CALL_GRACE_MS;
	int64_t daemon_ms = budget_ms - grace;
	int64_t t0 = vmh_now_ms();
	int r;

	memset(rep, 0, sizeof(*rep));
	if (!fill_vm(ra, req, why, whylen))
		return -EINVAL;
	if (daemon_ms < MIN_BUDGET_MS) {
		snprintf(why, whylen, "no time left to ask vmhandoffd (%lld ms of the op timeout)",
			 (long long)budget_ms);
		return -ETIME;
	}
	if (daemon_ms > (int64_t)VMH_IPC_MAX_BUDGET_MS)
		daemon_ms = VMH_IPC_MAX_BUDGET_MS;
	req->budget_ms = (uint32_t)daemon_ms;
	r = vmh_ipc_call(socket_path(ra), req, rep);
	if (r < 0) {
		memset(rep, 0, sizeof(*rep));	/* owns nothing: clearing it is a no-op */
		describe_errno(ra, r, daemon_ms, why, whylen);
		return r;
	}
	describe_reply(rep, why, whylen);
	vmh_log(VMH_LOG_DEBUG, "%s: %s %s -> %s in %lld ms (budget %lld ms)", req->vm,
		vmh_ipc_type_str(req->type), req->node[0] ? req->node : "", why,
		(long long)(vmh_now_ms() - t0), (long long)daemon_ms);
	return 0;
}

/* The domain XML's uuid as 16 bytes; false if it has none or it does not
 * parse (then the claim goes without one: libvirt judges the XML). */
static bool parse_uuid(const char *text, uint8_t out[16])
{
	size_t n = 0;

	for (const char *s = text; s && *s && n < 32; s++) {
		int v;

		if (*s == '-')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			return false;
		out[n / 2] = (uint8_t)(n % 2 ? out[n / 2] | v : v << 4);
		n++;
	}
	return n == 32;
}

/* A claim refused for now but not for good: another record of the VM in
 * flight, or the VM in a handoff the registry has still to decide. */
static bool claim_may_change(const struct vmh_ipc_reply *rep)
{
	return rep->status == VMH_IPC_E_BUSY ||
	       (rep->status == VMH_IPC_E_REJECTED && rep->has_vm_state &&
		rep->vm_state == VMH_VM_MIGRATING);
}

ra_rc ra_registry_config(struct ra *ra, int64_t budget_ms)
{
	struct vmh_ipc_req req = { .type = VMH_IPC_CONFIG_GET };
	struct vmh_ipc_reply rep;
	struct vmh_domxml dx = { 0 };
	char why[512];
	int r;

	r = call(ra, &req, budget_ms, &rep, why, sizeof(why));
	if (r < 0) {
		ra_exit_reason("%s: cannot read its definition from the registry: %s",
			       ra->dom_name, why);
		return PCMK_OCF_UNKNOWN_ERROR;
	}
	if (rep.status == VMH_IPC_E_UNKNOWN_VM || (rep.status == VMH_IPC_OK && !rep.xml_len)) {
		vmh_log(VMH_LOG_INFO, "%s: the registry holds no definition of it: config %s "
			"becomes the registry's", ra->dom_name, ra->p.config);
		vmh_ipc_reply_clear(&rep);
		return PCMK_OCF_OK;
	}
	if (rep.status != VMH_IPC_OK) {
		ra_exit_reason("%s: cannot read its definition from the registry: %s",
			       ra->dom_name, why);
		vmh_ipc_reply_clear(&rep);
		return PCMK_OCF_UNKNOWN_ERROR;
	}
	r = vmh_domxml_parse(rep.xml, rep.xml_len, &dx);
	if (r < 0 || strcmp(dx.name, ra->dom_name) != 0) {
		ra_exit_reason("%s: the registry's definition (epoch %llu) %s%s: not starting it; "
			       "push a good one with 'vmhandoff config %s --push FILE'",
			       ra->dom_name, (unsigned long long)rep.epoch,
			       r < 0 ? "is not a usable domain XML" : "names another domain, ",
			       r < 0 ? "" : dx.name, ra->dom_name);
		vmh_domxml_free(&dx);
		vmh_ipc_reply_clear(&rep);
		return PCMK_OCF_UNKNOWN_ERROR;
	}
	if (ra->dx.xml && strcmp(ra->dx.xml, dx.xml) != 0)
		vmh_log(VMH_LOG_NOTICE, "%s: using the registry's definition (epoch %llu, %zu "
			"bytes), not config %s, which differs; to use the file: 'vmhandoff config "
			"%s --push %s'", ra->dom_name, (unsigned long long)rep.epoch, rep.xml_len,
			ra->p.config, ra->dom_name, ra->p.config);
	vmh_domxml_free(&ra->dx);
	ra->dx = dx;
	ra->dx_from_registry = true;
	vmh_ipc_reply_clear(&rep);
	return PCMK_OCF_OK;
}

ra_rc ra_registry_claim(struct ra *ra, int64_t budget_ms)
{
	struct vmh_ipc_req req = { .type = VMH_IPC_CLAIM, .require_fencing = ra->p.require_fencing };
	struct vmh_ipc_reply rep;
	char why[512];
	int r;

	req.has_uuid = parse_uuid(ra->dx.uuid, req.uuid);
	/* The registry keeps the owner's config, so that a start elsewhere
	 * uses the latest one; the file seeds it when it holds none. A
	 * config over its limit is not replicated. */
	if (ra->dx_from_registry) {
		/* the registry's stays */
	} else if (ra->dx.xml && strlen(ra->dx.xml) <= VMH_REG_XML_MAX) {
		req.xml = ra->dx.xml;
		req.xml_len = strlen(ra->dx.xml);
	} else if (ra->dx.xml) {
		vmh_log(VMH_LOG_WARNING, "%s: config %s is over the registry's %u bytes: "
			"claiming without it", ra->dom_name, ra->p.config, VMH_REG_XML_MAX);
	}
	vmh_log(VMH_LOG_INFO, "%s: claiming it in the registry (require_fencing=%s)", ra->dom_name,
		req.require_fencing ? "true" : "false");
	for (int64_t end = vmh_now_ms() + budget_ms;;) {
		r = call(ra, &req, end - vmh_now_ms(), &rep, why, sizeof(why));
		if (r < 0 || !claim_may_change(&rep) || end - vmh_now_ms() < CLAIM_RETRY_MS + MIN_BUDGET_MS)
			break;
		/* a handoff being decided (a commit or abort waiting for a
		 * lost node's fencing, an abort of the daemon's own in flight)
		 * ends within a fencing's time: claim again after it, rather
		 * than fail the start and have pacemaker ban this node */
		vmh_log(VMH_LOG_NOTICE, "%s: the registry cannot grant the claim yet (%s): asking again",
			ra->dom_name, why);
		vmh_ipc_reply_clear(&rep);
		usleep(CLAIM_RETRY_MS * 1000);
	}
	if (r < 0) {
		ra_exit_reason("%s: cannot claim it in the registry: %s", ra->dom_name, why);
		return PCMK_OCF_UNKNOWN_ERROR;
	}
	if (rep.status == VMH_IPC_OK) {
		vmh_log(VMH_LOG_NOTICE, "%s: the registry names this node its owner (epoch %llu)",
			ra->dom_name, (unsigned long long)rep.epoch);
		vmh_ipc_reply_clear(&rep);
		return PCMK_OCF_OK;
	}
	if (rep.status == VMH_IPC_E_REJECTED) {
		describe_refusal(&rep, why, sizeof(why));
		ra_exit_reason("registry refused the claim of %s: %s", ra->dom_name, why);
	} else {
		ra_exit_reason("%s: the registry did not grant the claim: %s", ra->dom_name, why);
	}
	vmh_ipc_reply_clear(&rep);
	return PCMK_OCF_UNKNOWN_ERROR;
}

void ra_registry_release(struct ra *ra, int64_t budget_ms)
{
	struct vmh_ipc_req req = { .type = VMH_IPC_RELEASE };
	struct vmh_ipc_reply rep;
	char why[512];
	int r;

	if (!ra->dom_name) {
		vmh_log(VMH_LOG_WARNING, "the domain's name is unknown: not released in the registry "
			"(vmhandoffd reconciles a VM that does not run on its owner)");
		return;
	}
	r = call(ra, &req, budget_ms, &rep, why, sizeof(why));
	if (r == 0 && rep.status == VMH_IPC_OK) {
		vmh_log(VMH_LOG_NOTICE, "%s: released in the registry", ra->dom_name);
	} else if (r == 0 && rep.status == VMH_IPC_E_REJECTED && rep.has_vm_state &&
		   rep.vm_state == VMH_VM_RUNNING &&
		   (rep.reg_reason == VMH_REG_R_STATE || rep.reg_reason == VMH_REG_R_NOT_OWNER)) {
		/* Running, and not released by us: another node owns it (e.g.
		 * pacemaker stops it on both nodes after a failed migration). */
		vmh_log(VMH_LOG_NOTICE, "%s: the registry names node %u its owner: nothing to "
			"release here", ra->dom_name, rep.owner);
	} else {
		/* The domain is gone, which is what stop promises; vmhandoffd
		 * reconciles a VM owned by a node that does not run it. */
		vmh_log(VMH_LOG_WARNING, "%s: stopped, but not released in the registry: %s",
			ra->dom_name, why);
	}
	vmh_ipc_reply_clear(&rep);
}

/* A BEGIN that timed out may still be delivered, and leave the VM
 * "migrating" with nothing migrating. An ABORT sent after it is delivered
 * after it and undoes it; if the BEGIN never was delivered, the ABORT is
 * refused, harmlessly. Best effort, with half of what is left. */
static void undo_late_begin(struct ra *ra, const char *target)
{
	struct vmh_ipc_req req = { .type = VMH_IPC_ABORT };
	struct vmh_ipc_reply rep;
	char why[512];

	if (call(ra, &req, ra_time_left_ms(ra, 0) / 2, &rep, why, sizeof(why)) == 0 &&
	    rep.status == VMH_IPC_OK)
		vmh_log(VMH_LOG_NOTICE, "%s: the late handoff to %s is aborted in the registry",
			ra->dom_name, target);
	else
		vmh_log(VMH_LOG_INFO, "%s: abort of a late handoff to %s: %s", ra->dom_name,
			target, why);
	vmh_ipc_reply_clear(&rep);
}

ra_rc ra_registry_begin(struct ra *ra, const char *target, struct ra_handoff *h,
			int64_t budget_ms)
{
	struct vmh_ipc_req req = { .type = VMH_IPC_BEGIN };
	struct vmh_ipc_reply rep;
	char why[512];
	size_t len = strlen(target);
	int r;

	memset(h, 0, sizeof(*h));
	h->target = target;
	if (len == 0 || len > VMH_IPC_NODE_NAME_MAX) {
		ra_exit_reason("%s: target node name '%s' is not a corosync node name", ra->dom_name,
			       target);
		return PCMK_OCF_UNKNOWN_ERROR;
	}
	memcpy(req.node, target, len + 1);
	r = call(ra, &req, budget_ms, &rep, why, sizeof(why));
	if (r == 0 && rep.status == VMH_IPC_OK) {
		h->target_id = rep.nodeid;
		snprintf(h->addr, sizeof(h->addr), "%s", rep.addr);
		vmh_log(VMH_LOG_NOTICE, "%s: handoff to %s (nodeid %u) begun in the registry "
			"(epoch %llu); its migration-link address: %s", ra->dom_name, target,
			h->target_id, (unsigned long long)rep.epoch, h->addr[0] ? h->addr : "none published");
		vmh_ipc_reply_clear(&rep);
		return PCMK_OCF_OK;
	}
	if (r == -ETIMEDOUT || (r == 0 && rep.status == VMH_IPC_E_TIMEOUT))
		undo_late_begin(ra, target);
	ra_exit_reason("%s: the registry did not begin the handoff to %s: %s; not migrating, "
		       "the domain keeps running here", ra->dom_name, target, why);
	vmh_ipc_reply_clear(&rep);
	return PCMK_OCF_UNKNOWN_ERROR;
}

ra_rc ra_registry_commit(struct ra *ra, const struct ra_handoff *h, int64_t budget_ms)
{
	struct vmh_ipc_req req = { .type = VMH_IPC_COMMIT };
	struct vmh_ipc_reply rep;
	char why[512];
	int r;

	r = call(ra, &req, budget_ms, &rep, why, sizeof(why));
	if (r == 0 && rep.status == VMH_IPC_OK) {
		/* OK also when the target's own commit was delivered first. */
		vmh_log(VMH_LOG_NOTICE, "%s: handoff to %s committed in the registry", ra->dom_name,
			h->target);
		vmh_ipc_reply_clear(&rep);
		return PCMK_OCF_OK;
	}
	if (r == 0 && rep.status == VMH_IPC_E_REJECTED)
		ra_exit_reason("%s: migrated to %s, but the registry refused the commit: %s; "
			       "the registry decided against the handoff", ra->dom_name, h->target, why);
	else
		ra_exit_reason("%s: migrated to %s, but the commit is not confirmed: %s; both copies "
			       "stay paused until the registry decides", ra->dom_name, h->target, why);
	vmh_ipc_reply_clear(&rep);
	return PCMK_OCF_UNKNOWN_ERROR;
}

enum ra_abort_result ra_registry_abort(struct ra *ra, const struct ra_handoff *h,
				       int64_t budget_ms)
{
	struct vmh_ipc_req req = { .type = VMH_IPC_ABORT };
	struct vmh_ipc_reply rep;
	enum ra_abort_result res = RA_UNDECIDED;
	char why[512];
	int r;

	r = call(ra, &req, budget_ms, &rep, why, sizeof(why));
	if (r == 0 && rep.status == VMH_IPC_OK) {
		vmh_log(VMH_LOG_NOTICE, "%s: handoff to %s aborted in the registry: vmhandoffd "
			"resumes the copy here", ra->dom_name, h->target);
		res = RA_ABORTED;
	} else if (r == 0 && rep.status == VMH_IPC_E_REJECTED && rep.has_vm_state &&
		   rep.vm_state == VMH_VM_RUNNING && h->target_id && rep.owner == h->target_id) {
		/* The target's commit was delivered first: it holds the whole
		 * state and runs; the failure was only the call's. */
		vmh_log(VMH_LOG_NOTICE, "%s: the abort came too late: the registry committed the "
			"handoff to %s, which runs it", ra->dom_name, h->target);
		res = RA_COMMIT_WON;
	} else {
		vmh_log(VMH_LOG_ERR, "%s: the abort of the handoff to %s is not confirmed: %s; "
			"the copies stay as they are until the registry decides", ra->dom_name,
			h->target, why);
	}
	vmh_ipc_reply_clear(&rep);
	return res;
}

ra_rc ra_registry_wait_owner(struct ra *ra, const char *source, int64_t budget_ms)
{
	struct vmh_ipc_req req = { .type = VMH_IPC_WAIT_OWNER };
	struct vmh_ipc_reply rep;
	char why[512];
	int r;

	r = call(ra, &req, budget_ms, &rep, why, sizeof(why));
	if (r == 0 && rep.status == VMH_IPC_OK) {
		vmh_log(VMH_LOG_NOTICE, "%s: the registry names this node its owner and vmhandoffd "
			"resumed it (epoch %llu)", ra->dom_name, (unsigned long long)rep.epoch);
		vmh_ipc_reply_clear(&rep);
		return PCMK_OCF_OK;
	}
	if (r == 0 && rep.status == VMH_IPC_E_REJECTED)
		ra_exit_reason("%s: the handoff from %s was aborted in the registry: %s", ra->dom_name,
			       source ? source : "?", why);
	else if (r == 0 && rep.status == VMH_IPC_E_TIMEOUT)
		ra_exit_reason("%s: the registry did not commit the handoff from %s in time: %s",
			       ra->dom_name, source ? source : "?", why);
	else
		ra_exit_reason("%s: migration from %s not confirmed by the registry: %s",
			       ra->dom_name, source ? source : "?", why);
	vmh_ipc_reply_clear(&rep);
	return PCMK_OCF_UNKNOWN_ERROR;
}
