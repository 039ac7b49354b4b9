/* SPDX-License-Identifier: MIT */
/* frame.h - the on-disk format of state_dir's files: headers, framed records, file I/O. */
#ifndef PSMD_FRAME_H
#define PSMD_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "psm_err.h"
#include "record.h"

/*
 * The bytes every state file is made of, shared by the journal (journal.h), the
 * snapshots (snapshot.h) and the quarantine file (journal_quar.h):
 *   journal.NNNNNN   header "PSMJRNL1" + u32 format version (1) + u32 segment
 *                    number, then framed records
 *   snapshot.NNNNNN  header "PSMSNAP1" + u32 format version (1) + u32 number +
 *                    u64 record count, then exactly that many framed records
 * A record is framed as u32 length + u32 CRC32C + length bytes of record JSON
 * (record.h); the CRC (shm_crc32c) covers the 4 length bytes and then the JSON
 * bytes.  Integers are little-endian.
 */

#define JOURNAL_MAGIC "PSMJRNL1"
#define SNAPSHOT_MAGIC "PSMSNAP1"
#define FRAME_FORMAT 1
#define JOURNAL_HDR_SIZE 16
#define SNAPSHOT_HDR_SIZE 24
#define FRAME_HDR_SIZE 8
#define FRAME_REC_MAX (1u << 20) /* longer is corruption */

/* Little-endian integers. */
void frame_put_u32(unsigned char *p, uint32_t v);
void frame_put_u64(unsigned char *p, uint64_t v);
uint32_t frame_get_u32(const unsigned char *p);
uint64_t frame_get_u64(const unsigned char *p);

/* A kind of state file: its magic, header size, name in messages and file names. */
struct frame_kind {
	const char *magic; /* 8 bytes */
	size_t hdr_size;
	const char *what; /* "snapshot", "journal" */
};
extern const struct frame_kind frame_journal, frame_snapshot;

/* The name of file number seq of kind k in buf: "snapshot.000004", "journal.000004". */
void frame_file_name(const struct frame_kind *k, uint32_t seq, char *buf, size_t n);
/* Writes k's magic, FRAME_FORMAT and seq to h (the first 16 bytes of a header). */
void frame_put_header(unsigned char *h, const struct frame_kind *k, uint32_t seq);
/* Checks the header of state file name, d[0..size): k's magic (a file shorter than
 * k->hdr_size has none), format FRAME_FORMAT, number seq.  PSM_EUNAVAIL naming name. */
int frame_check_header(const unsigned char *d, size_t size, const struct frame_kind *k,
		       uint32_t seq, const char *name, struct psm_err *err);

/* The checksum of a frame: the 4 length bytes, then the JSON. */
uint32_t frame_crc(const unsigned char lenbytes[4], const char *json, size_t len);
/* Writes the 8-byte frame header (length, checksum) of json[0..len) to h. */
void frame_seal(unsigned char *h, const char *json, size_t len);

/* A growable buffer of frames. */
struct frame_buf {
	unsigned char *p;
	size_t len, cap;
};
/* Appends one frame for json[0..len) to *b (growing it); PSM_ENOMEM, or PSM_EINVAL
 * for an empty record or one longer than FRAME_REC_MAX. */
int frame_put(struct frame_buf *b, const char *json, size_t len, struct psm_err *err);
/* Appends one frame for rec's JSON, written through text (a buffer kept for reuse). */
struct json_out;
int frame_record(struct frame_buf *b, struct json_out *text, const struct record *rec,
		 struct psm_err *err);
void frame_buf_free(struct frame_buf *b);

/*
 * Reads the frame at data[*off..size): 1 = *json and *len set and *off advanced;
 * 0 = clean end; -1 = torn or corrupt at *off (why says how).
 */
int frame_next(const unsigned char *data, size_t size, size_t *off, const char **json, size_t *len,
	       const char **why);
/* Parses and validates a framed record's JSON into r; one that does not is PSM_EUNAVAIL. */
int frame_parse_record(const char *json, size_t len, struct record *r, struct psm_err *err);

/* Reads a whole file of dirfd (at most 4 GiB) into malloc'd *data; PSM_ENOENT when it
 * does not exist. */
int frame_read_file(int dirfd, const char *name, unsigned char **data, size_t *size,
		    struct psm_err *err);
/* write() all of p, retrying on EINTR and short writes; PSM_ESYS names what. */
int frame_write_all(int fd, const void *p, size_t n, const char *what, struct psm_err *err);
/* fsync()s the state directory, so a create, rename or remove in it is durable. */
int frame_fsync_dir(int dirfd, struct psm_err *err);
/*
 * The end of an atomic write: fd holds the new file, created as tmp in dirfd, and rc says
 * how writing it went.  fsync, close, rename tmp to name, fsync the directory; fd is
 * closed either way, and tmp removed on failure.  Returns rc or the first error after it.
 */
int frame_replace(int dirfd, int fd, const char *tmp, const char *name, int rc,
		  struct psm_err *err);

#endif
