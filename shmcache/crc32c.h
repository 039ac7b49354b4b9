/* SPDX-License-Identifier: MIT */
/* crc32c.h - the table's checksum (CRC-32C): software, SSE4.2, and as a view chose it at open. */
#ifndef SHM_CRC32C_H
#define SHM_CRC32C_H

#include <stddef.h>
#include <stdint.h>

#include "shm.h"

uint32_t shm_crc32c_sw(uint32_t crc, const void *data, size_t len);
uint32_t shm_crc32c_hw(uint32_t crc, const void *data, size_t len); /* needs SSE4.2 */
int shm_crc32c_have_hw(void);
/* Copies len bytes from src (which may change meanwhile) to dst; returns the crc32c of dst,
 * computed as view v chose at open (v->crc_hw). */
uint32_t shm_crc32c_copy(const struct shm_view *v, void *dst, const void *src, size_t len);

/* crc32c of data as view v chose at open: no CPU feature query per record. */
static inline uint32_t shm_crc32c_view(const struct shm_view *v, const void *data, size_t len)
{
	return v->crc_hw ? shm_crc32c_hw(0, data, len) : shm_crc32c_sw(0, data, len);
}

#endif
