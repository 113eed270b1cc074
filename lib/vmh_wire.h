/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmh_wire: the registry's messages and full states as bytes, for CPG and
 * for the state file.
 *
 * Every buffer is a header {u16 type, u16 version, u32 length} and a body
 * of exactly `length` bytes. All integers are little-endian (what every
 * platform we run on uses natively; written and read byte by byte, so the
 * host's order and alignment never matter). Fixed-size fields wherever
 * possible; strings are a length byte plus a fixed 64-byte field, zero
 * padded; XML is a u32 length plus the bytes (no NUL). Reserved bytes and
 * unknown flag bits must be zero: the decoder rejects them, so that a later
 * version can give them a meaning without being misread by this one.
 *
 * The decoder never trusts a length: short or long buffers, lengths that
 * overrun, unknown types, other versions, invalid names or addresses,
 * oversized XML, unsorted or duplicate entries in a state are rejected and
 * nothing is returned.
 *
 * Layouts (offsets in bytes, see the structs in vmh_wire.c, whose sizes
 * are asserted at compile time):
 *   header          0 type, 2 version, 4 length                      8
 *   common (all)    0 config u64, 8 cookie u32, 12 reserved u32     16
 *   vm (records 1-6) 0 expect u64, 8 name_len u8, 9 reserved[7],
 *                   16 name[64]                                      80
 *   CLAIM           common, vm, uuid[16], flags u8 (1 = require_fencing),
 *                   reserved[3], xml_len u32, xml
 *   RELEASE, HANDOFF_COMMIT, HANDOFF_ABORT: common, vm
 *   HANDOFF_BEGIN   common, vm, dst u32, reserved u32
 *   CONFIG          common, vm, xml_len u32, reserved u32, xml
 *   NODE_FENCED     common, node u32, reserved u32, departure u64, fence_time u64
 *   NODE_EXPIRED    common, node u32, waited_ms u32, departure u64
 *   ADDRESS         common, node u32, addr_len u8, reserved[3], addr[64]
 *   QUORUM          common, quorate u8 (0/1), reserved[7], round u64
 *   SYNC_START      common, round u64, ring u64, n u32, reserved u32,
 *                   members u32[n]
 *   SYNC            common, round u64, image
 *   image           author u32, voters u32, config u64, ring u64,
 *                   flags u8 (1 = quorate), reserved[3], n_nodes u32, n_vms u32,
 *                   reserved u32 (40),
 *                   n_nodes x node (112), n_vms x (vm record (120), xml)
 *   node            nodeid u32, flags u8 (1 member, 2 clean, 4 quorate),
 *                   addr_len u8, reserved u16, left, fenced_for, expired_for,
 *                   fence_time, addr_config (u64 each), addr[64]
 *   vm record       name_len u8, state u8, flags u8 (1 = require_fencing),
 *                   reserved u8, owner u32, dst u32, xml_len u32, epoch,
 *                   vkey_config, vkey_epoch (u64 each), uuid[16], name[64]
 *   snapshot        header(type VMH_WIRE_SNAPSHOT) + image: the state file's body
 *   HANDOFF_STATS   header(type VMH_WIRE_HANDOFF_STATS) + one history entry
 *                   (vmh_hist_entry.h, 144 bytes): no common part
 *
 * Types 0x80-0xff are informational messages on the same CPG group, outside
 * the registry: vmh_wire_decode() refuses them (-ENOMSG) like any type it
 * does not know, so they never reach vmh_reg_apply() and never change a
 * state or an epoch; each has its own decoder. A daemon that does not know
 * one ignores it: this version quietly, versions before the range existed
 * log it once per message as a malformed record (and ignore it too).
 *   0x80 HANDOFF_STATS  the destination's figures of a committed handoff
 *                       (bytes, libvirt's job time and downtime, its own
 *                       end-of-copy -> resume delay), sent once after it
 *                       resumed the VM; every daemon merges them into its
 *                       history entry (vmh_history.h)
 */
#ifndef VMH_WIRE_H
#define VMH_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "vmh_hist_entry.h"
#include "vmh_registry.h"

#define VMH_WIRE_VERSION 1
#define VMH_WIRE_HDR_LEN 8
/* Largest body accepted: bounds what a peer can make us allocate. A state
 * with more XML than this must not be sent over CPG in one piece anyway. */
#define VMH_WIRE_MAX_BODY (64u << 20)
/* Header type of a full state outside a SYNC message (the state file). */
#define VMH_WIRE_SNAPSHOT 0x100
/* Informational messages (not registry records): see the top. */
#define VMH_WIRE_INFO_MIN 0x80
#define VMH_WIRE_INFO_MAX 0xff
#define VMH_WIRE_HANDOFF_STATS 0x80

struct vmh_wire_hdr {
	uint16_t type;
	uint16_t version;
	uint32_t length;	/* of the body, header excluded */
};

/* Reads the header of buf; checks nothing but that 8 bytes are there.
 * 0 or -EBADMSG. */
int vmh_wire_peek(const uint8_t *buf, size_t len, struct vmh_wire_hdr *hdr);

/*
 * Encodes msg into a new buffer (*buf, *len; caller frees). Refuses what
 * the decoder would refuse. 0, -EINVAL, -EMSGSIZE, -ENOMEM.
 */
int vmh_wire_encode(const struct vmh_msg *msg, uint8_t **buf, size_t *len);

/*
 * Decodes one message. 0; -EBADMSG malformed (length, field, padding);
 * -EPROTONOSUPPORT other version; -ENOMSG unknown type (the snapshot type
 * included: it is not a message); -ENOMEM. On success msg may own memory
 * (xml, image): release it with vmh_wire_msg_clear(). On error msg is
 * zeroed and owns nothing.
 */
int vmh_wire_decode(const uint8_t *buf, size_t len, struct vmh_msg *msg);
void vmh_wire_msg_clear(struct vmh_msg *msg);

/* A full state with a VMH_WIRE_SNAPSHOT header. Same return codes; the
 * decoded image also passes vmh_reg_image_check() and owns its memory
 * (vmh_reg_image_free()). */
int vmh_wire_encode_image(const struct vmh_reg_image *img, uint8_t **buf, size_t *len);
int vmh_wire_decode_image(const uint8_t *buf, size_t len, struct vmh_reg_image *img);

/* A HANDOFF_STATS message: one history entry that ended (not
 * MIGRATING). Encode: 0, -EINVAL (the entry is not valid or still
 * migrating), -ENOMEM. Decode: 0, -EBADMSG, -EPROTONOSUPPORT, -ENOMSG
 * (another type); *e is zeroed on error. */
int vmh_wire_encode_stats(const struct vmh_hist_entry *e, uint8_t **buf, size_t *len);
int vmh_wire_decode_stats(const uint8_t *buf, size_t len, struct vmh_hist_entry *e);

#endif
