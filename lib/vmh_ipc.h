/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmh_ipc: the local protocol between vmhandoffd and its clients (the
 * resource agent and the vmhandoff CLI), and a blocking client.
 *
 * Transport: a unix stream socket (VMH_IPC_DEFAULT_SOCKET, mode 0660
 * root:haclient). The daemon checks the peer's credentials (SO_PEERCRED):
 * uid 0 or a member of haclient, anything else is answered E_PERM and
 * closed. One request, one reply, in order; a client may send several
 * requests on one connection.
 *
 * Frame: header {u16 type, u16 version, u32 length} (little-endian, as in
 * vmh_wire) and a body of exactly `length` bytes, at most
 * VMH_IPC_MAX_BODY. The body is a sequence of fields
 * {u16 tag, u16 reserved (0), u32 len, value[len]}; integers are
 * little-endian of the size given next to the tag; strings have no NUL and
 * obey the field's rule (VM names: vmh_reg_name_ok; node names: 1..64
 * printable ASCII; addresses: vmh_reg_addr_ok). Unknown tags, a field
 * twice (unless marked repeated), a wrong length, a missing mandatory
 * field or a reserved byte that is not zero make the frame malformed; the
 * decoder then returns nothing. Optional fields: an absent one decodes as
 * zero (false, "", 0), and the encoder writes a field only when it is not
 * zero, so "absent" and "zero" mean the same.
 *
 * Every request carries a time budget (budget_ms): the daemon answers
 * within it, whatever happens (E_TIMEOUT if the registry did not decide in
 * time). A registry request that timed out may still be delivered later:
 * its outcome is unknown, and the caller must treat it as such.
 */
#ifndef VMH_IPC_H
#define VMH_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vmh_hist_entry.h"
#include "vmh_registry.h"

#define VMH_IPC_DEFAULT_SOCKET "/run/vmhandoff/vmhandoffd.sock"
#define VMH_IPC_VERSION 1
#define VMH_IPC_HDR_LEN 8
/* A CLAIM carries up to VMH_REG_XML_MAX of XML; a STATUS reply carries the
 * registry image (all XML included). */
#define VMH_IPC_MAX_BODY (64u << 20)
#define VMH_IPC_NODE_NAME_MAX 64
#define VMH_IPC_MESSAGE_MAX 255
/* A budget of 0 or above this is malformed. */
#define VMH_IPC_MAX_BUDGET_MS (3600u * 1000u)
/* vmh_ipc_call() waits this long past a request's budget for a reply that
 * does not come (a hung daemon): a caller with a hard deadline keeps it
 * out of the budget it gives. */
#define VMH_IPC_CALL_GRACE_MS 2000

enum vmh_ipc_type {
	/* requests */
	VMH_IPC_STATUS = 1,	/* -> self, quorum, nodes, image, progress */
	/* CLAIM: vm, [uuid], [xml], require_fencing. Reply after the CLAIM is
	 * delivered (OK, or E_REJECTED with the registry's reason). A
	 * re-claim by the owner is OK (idempotent). */
	VMH_IPC_CLAIM = 2,
	/* RELEASE: vm. The domain must be gone already. OK also when the
	 * registry has the VM stopped or unknown (idempotent). */
	VMH_IPC_RELEASE = 3,
	/* HANDOFF_BEGIN: vm, node (target's pacemaker/corosync node name).
	 * Reply: epoch, nodeid (target), addr (target's published
	 * migration-link address, "" if it published none). */
	VMH_IPC_BEGIN = 4,
	/* HANDOFF_COMMIT / HANDOFF_ABORT: vm. Reply after delivery. OK when
	 * the registry already decided the same way (the other side's
	 * commit/abort won the race); E_REJECTED when it decided the other
	 * way (vm_state/owner in the reply tell how). */
	VMH_IPC_COMMIT = 5,
	VMH_IPC_ABORT = 6,
	/* WAIT_OWNER: vm. Reply OK as soon as the registry names this node
	 * the owner of the running VM and the local domain runs (the daemon
	 * resumed it on the commit); E_TIMEOUT at the end of the budget;
	 * E_REJECTED when the registry decided otherwise (aborted). */
	VMH_IPC_WAIT_OWNER = 7,
	/* QUERY: vm. Reply: vm_state, owner, dst, epoch, may_run (the
	 * registry's vmh_reg_may_run() for this node), E_UNKNOWN_VM if the
	 * registry does not know it. Answered from memory, never waits. */
	VMH_IPC_QUERY = 8,
	/* CONFIG_GET: vm. Reply: as QUERY, plus xml, the registry's domain
	 * XML (absent if it holds none). E_UNKNOWN_VM if the registry does
	 * not know the VM. Answered from memory. */
	VMH_IPC_CONFIG_GET = 9,
	/* CONFIG_PUSH: vm, xml. A new domain XML for the VM: accepted from
	 * the owner of a running VM, from any member for a stopped or
	 * unknown one (which the registry then knows, stopped). Reply after
	 * delivery; OK without a record when the registry holds that XML. */
	VMH_IPC_CONFIG_PUSH = 10,
	/* DOMSTATE: vm. The VM as this node runs it, for the recurring
	 * monitor's fast path (agent/front/): the local libvirt domain of
	 * that name from the daemon's own connection (has_dom, dom_state,
	 * dom_reason, dom_vcpus, dom_max_mem_kib; has_dom false: libvirt has
	 * no such domain) and the URI of that connection (uri), plus, when
	 * the registry knows the VM, what QUERY says (vm_state, owner, dst,
	 * epoch, may_run). Answered at once, from memory and libvirt (one
	 * call for a running domain asked about before), never waits for
	 * the registry: OK (also for a VM the registry does not
	 * know: has_vm_state false), E_INTERNAL (no libvirt connection,
	 * libvirt failed: message), E_NO_CLUSTER (as every VM request). */
	VMH_IPC_DOMSTATE = 11,
	/* HISTORY: vm. The migrations of vm this daemon has seen, oldest
	 * first, at most VMH_IPC_HISTORY_MAX (history entries, see
	 * vmh_hist_entry.h), with corosync's nodelist (node entries, for the
	 * names) and self; plus what QUERY says when the registry knows the
	 * VM. Answered from memory, also without corosync: OK (maybe no
	 * entry), E_UNKNOWN_VM when neither the registry nor the history
	 * knows the VM. (A daemon older than this request does not know
	 * its type and closes the connection: -ECONNRESET for the caller.) */
	VMH_IPC_HISTORY = 12,
	VMH_IPC_TYPE_MAX = VMH_IPC_HISTORY,
	/* a reply has the type of its request | VMH_IPC_REPLY */
	VMH_IPC_REPLY = 0x80,
};

enum vmh_ipc_status {
	VMH_IPC_OK = 0,
	VMH_IPC_E_REJECTED = 1,		/* registry said no: reg_reason */
	VMH_IPC_E_TIMEOUT = 2,		/* budget ran out; outcome unknown */
	VMH_IPC_E_NO_QUORUM = 3,	/* refused before sending: not quorate */
	VMH_IPC_E_MALFORMED = 4,	/* request did not decode */
	VMH_IPC_E_PERM = 5,		/* peer is not root or haclient */
	VMH_IPC_E_UNKNOWN_NODE = 6,	/* node name not in corosync's nodelist */
	VMH_IPC_E_UNKNOWN_VM = 7,	/* QUERY/WAIT_OWNER: VM not in the registry */
	VMH_IPC_E_BUSY = 8,		/* another request for this VM in flight */
	VMH_IPC_E_NO_CLUSTER = 9,	/* no corosync connection / not in CPG */
	VMH_IPC_E_INTERNAL = 10,	/* out of memory, libvirt error, ... */
	VMH_IPC_STATUS_MAX = VMH_IPC_E_INTERNAL,
};
const char *vmh_ipc_status_str(enum vmh_ipc_status s);
const char *vmh_ipc_type_str(enum vmh_ipc_type t);

/* Field tags (value size; "str" = string, "bytes" = opaque). */
enum vmh_ipc_tag {
	VMH_IPC_T_VM = 1,		/* str, VM name */
	VMH_IPC_T_NODE = 2,		/* str, node name */
	VMH_IPC_T_UUID = 3,		/* 16 bytes */
	VMH_IPC_T_XML = 4,		/* bytes, 1..VMH_REG_XML_MAX, no NUL inside */
	VMH_IPC_T_REQUIRE_FENCING = 5,	/* u8, 0/1 */
	VMH_IPC_T_BUDGET_MS = 6,	/* u32, 1..VMH_IPC_MAX_BUDGET_MS */
	VMH_IPC_T_STATUS = 7,		/* u32, enum vmh_ipc_status */
	VMH_IPC_T_REG_REASON = 8,	/* u32, enum vmh_reg_reason */
	VMH_IPC_T_MESSAGE = 9,		/* str, printable ASCII, for logs */
	VMH_IPC_T_EPOCH = 10,		/* u64 */
	VMH_IPC_T_VM_STATE = 11,	/* u8, enum vmh_vm_state */
	VMH_IPC_T_OWNER = 12,		/* u32 nodeid */
	VMH_IPC_T_DST = 13,		/* u32 nodeid */
	VMH_IPC_T_NODEID = 14,		/* u32 nodeid */
	VMH_IPC_T_ADDR = 15,		/* str, migration-link address (may be empty) */
	VMH_IPC_T_MAY_RUN = 16,		/* u8, 0/1 */
	VMH_IPC_T_SELF = 17,		/* u32, the daemon's nodeid */
	VMH_IPC_T_FLAGS = 18,		/* u32, VMH_IPC_F_* */
	VMH_IPC_T_RING = 19,		/* u64 */
	VMH_IPC_T_IMAGE = 20,		/* bytes: vmh_wire_encode_image() output */
	VMH_IPC_T_NODE_ENTRY = 21,	/* repeated: u32 nodeid, u8 flags
					 * (VMH_IPC_NF_*), u8 name_len,
					 * u16 reserved, name[name_len] */
	VMH_IPC_T_PROGRESS = 22,	/* repeated: struct vmh_ipc_progress as
					 * u8 name_len, u8 reserved[3], u32 iteration,
					 * 7 x u64 (elapsed_ms, data_total,
					 * data_processed, data_remaining, mem_bps,
					 * dirty_rate, downtime_ms), name[name_len] */
	VMH_IPC_T_DOM_STATE = 23,	/* u8, virDomainState, 0..VMH_IPC_DOM_STATE_MAX;
					 * present iff libvirt has the domain */
	VMH_IPC_T_DOM_REASON = 24,	/* u32, libvirt's reason for dom_state; not
					 * asked for a running domain (0) */
	VMH_IPC_T_DOM_VCPUS = 25,	/* u32, virDomainInfo.nrVirtCpu */
	VMH_IPC_T_DOM_MAX_MEM = 26,	/* u64, virDomainInfo.maxMem (KiB) */
	VMH_IPC_T_URI = 27,		/* str, printable ASCII, 1..VMH_IPC_URI_MAX */
	VMH_IPC_T_HIST_ENTRY = 28,	/* repeated: one history entry, exactly
					 * VMH_HIST_ENTRY_LEN bytes as
					 * vmh_hist_entry.h lays it out */
	VMH_IPC_T_MAX = VMH_IPC_T_HIST_ENTRY,
};

/* The last virDomainState (VIR_DOMAIN_PMSUSPENDED); the daemon answers
 * E_INTERNAL for a state libvirt may add later. And VIR_DOMAIN_RUNNING,
 * for clients that do not include libvirt (helper/hd_virt.c checks both). */
#define VMH_IPC_DOM_STATE_MAX 7
#define VMH_IPC_DOM_RUNNING 1
#define VMH_IPC_URI_MAX 511
/* History entries in one HISTORY reply. */
#define VMH_IPC_HISTORY_MAX 64

/* VMH_IPC_T_FLAGS bits of a STATUS reply; other bits must be zero. */
#define VMH_IPC_F_LOCAL_QUORATE	0x1u	/* this node's corosync quorum */
#define VMH_IPC_F_QUORATE	0x2u	/* vmh_reg_quorate() */
#define VMH_IPC_F_SYNCING	0x4u	/* a sync round runs */
#define VMH_IPC_F_IN_CONFIG	0x8u	/* joined the CPG group */
#define VMH_IPC_F_ALL		0xfu

/* VMH_IPC_T_NODE_ENTRY flags; other bits must be zero. */
#define VMH_IPC_NF_MEMBER	0x1u	/* in the CPG membership */
#define VMH_IPC_NF_ALL		0x1u

struct vmh_ipc_node {
	uint32_t nodeid;
	bool member;
	char name[VMH_IPC_NODE_NAME_MAX + 1];
};

/* A migration this daemon drives (source side), from libvirt's job stats. */
struct vmh_ipc_progress {
	char vm[VMH_REG_NAME_MAX + 1];
	uint32_t iteration;
	uint64_t elapsed_ms;
	uint64_t data_total;		/* bytes */
	uint64_t data_processed;
	uint64_t data_remaining;
	uint64_t mem_bps;		/* bytes/s */
	uint64_t dirty_rate;		/* pages/s */
	uint64_t downtime_ms;		/* expected */
};

struct vmh_ipc_req {
	enum vmh_ipc_type type;
	uint32_t budget_ms;			/* mandatory */
	char vm[VMH_REG_NAME_MAX + 1];		/* all but STATUS */
	char node[VMH_IPC_NODE_NAME_MAX + 1];	/* BEGIN */
	bool has_uuid;				/* CLAIM, optional */
	uint8_t uuid[16];
	bool require_fencing;			/* CLAIM, optional (default false) */
	const char *xml;			/* CLAIM, optional; CONFIG_PUSH;
						 * NUL-terminated */
	size_t xml_len;
	void *owned_;				/* decoder's allocation */
};

struct vmh_ipc_reply {
	enum vmh_ipc_type type;			/* request type | VMH_IPC_REPLY */
	enum vmh_ipc_status status;		/* mandatory */
	enum vmh_reg_reason reg_reason;		/* E_REJECTED */
	char message[VMH_IPC_MESSAGE_MAX + 1];	/* optional, human readable */
	/* per VM (CLAIM..QUERY), each optional */
	bool has_vm_state;
	enum vmh_vm_state vm_state;
	uint64_t epoch;
	uint32_t owner, dst;
	bool may_run;
	uint32_t nodeid;			/* BEGIN: target */
	char addr[VMH_REG_ADDR_MAX + 1];	/* BEGIN */
	char *xml;				/* CONFIG_GET, owned; NUL-terminated */
	size_t xml_len;
	/* DOMSTATE: the local domain. dom_reason, dom_vcpus and
	 * dom_max_mem_kib need has_dom (else they must be zero). */
	bool has_dom;
	uint8_t dom_state;			/* virDomainState */
	uint32_t dom_reason;
	uint32_t dom_vcpus;
	uint64_t dom_max_mem_kib;
	char uri[VMH_IPC_URI_MAX + 1];		/* the daemon's libvirt connection */
	/* STATUS */
	uint32_t self;
	uint32_t flags;
	uint64_t ring;
	size_t n_nodes;
	struct vmh_ipc_node *nodes;		/* owned */
	uint8_t *image;				/* owned; decode with vmh_wire_decode_image */
	size_t image_len;
	size_t n_progress;
	struct vmh_ipc_progress *progress;	/* owned */
	/* HISTORY (and self, nodes as in STATUS) */
	size_t n_history;
	struct vmh_hist_entry *history;		/* owned; each passes vmh_hist_entry_ok */
};

/* Frees what a decoder allocated; the struct can be reused after. */
void vmh_ipc_req_clear(struct vmh_ipc_req *req);
void vmh_ipc_reply_clear(struct vmh_ipc_reply *rep);

/*
 * Whole frames in, whole frames out (header included). Encoders refuse
 * what the decoder would refuse (-EINVAL, -EMSGSIZE) and allocate *buf
 * (-ENOMEM). Decoders: 0; -EBADMSG malformed; -EPROTONOSUPPORT other
 * version; -ENOMSG unknown type (or a reply where a request is expected,
 * and the reverse); -ENOMEM. On error the output owns nothing.
 */
int vmh_ipc_encode_req(const struct vmh_ipc_req *req, uint8_t **buf, size_t *len);
int vmh_ipc_decode_req(const uint8_t *buf, size_t len, struct vmh_ipc_req *req);
int vmh_ipc_encode_reply(const struct vmh_ipc_reply *rep, uint8_t **buf, size_t *len);
int vmh_ipc_decode_reply(const uint8_t *buf, size_t len, struct vmh_ipc_reply *rep);

/*
 * For a reader of a stream: how long is the frame that starts at buf?
 * 0: need more bytes (fewer than a header); >0: the whole frame's length
 * (header included; read until you have that many); -EBADMSG: the header
 * announces a body over VMH_IPC_MAX_BODY (close the connection).
 */
ssize_t vmh_ipc_frame_len(const uint8_t *buf, size_t len);

/*
 * Blocking client: connects to path (NULL: VMH_IPC_DEFAULT_SOCKET), sends
 * req, reads the reply, closes. Never waits past req->budget_ms plus a
 * small grace for the reply to travel (the daemon answers within the
 * budget). 0 with *rep filled (check rep->status), or -errno: -ENOENT /
 * -ECONNREFUSED (daemon not running), -EACCES, -ETIMEDOUT, -EBADMSG
 * (reply malformed or not for this request), -ECONNRESET (the daemon
 * closed the connection before the whole reply: it exited or crashed;
 * the outcome is unknown), -ENOMEM, or the encoder's -EINVAL/-EMSGSIZE.
 */
int vmh_ipc_call(const char *path, const struct vmh_ipc_req *req, struct vmh_ipc_reply *rep);
/* The same, waiting at most req->budget_ms + grace_ms in all (instead of
 * VMH_IPC_CALL_GRACE_MS): for a caller whose whole time is short. */
int vmh_ipc_call_grace(const char *path, const struct vmh_ipc_req *req,
		       struct vmh_ipc_reply *rep, uint32_t grace_ms);

#endif
