/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The agent's metadata, ra-metadata/VirtualDomain.xml, embedded as a
 * NUL-terminated string: one source of truth, no hand-copied C strings. */
	.section .rodata
	.global vmh_ra_metadata
	.type vmh_ra_metadata, @object
vmh_ra_metadata:
	.incbin VMH_METADATA_FILE
	.byte 0
	.size vmh_ra_metadata, . - vmh_ra_metadata
	.section .note.GNU-stack,"",@progbits
