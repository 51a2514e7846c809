/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The unit-file model (pure, no I/O): fleet's parser (reference 5.3), normalized serializer
 * (5.4) and SHA-1 unit hash (5.5).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define UNIT_FILE_MAX_SIZE (1024 * 1024) /* bytes; larger files are rejected */
#define UNIT_FILE_LINE_MAX 2048          /* fleet's line guard */
#define UNIT_HASH_HEX_LEN 40
#define UNIT_HASH_SHORT_LEN 7

typedef struct UnitOption {
        char *section;
        char *name;
        char *value;
} UnitOption;

typedef struct UnitFile {
        UnitOption *options; /* in file order, duplicates kept */
        size_t n_options;
} UnitFile;

/*
 * Parse text (len bytes, need not be NUL-terminated; NUL bytes inside are an error) exactly as
 * fleet does. On success *ret is a new UnitFile (free with unit_file_free). On a parse error
 * returns -EINVAL and, if reterr_message is non-NULL, stores a malloc'd message in fleet's
 * words (e.g. "line too long (max 2048 bytes)"). A text over UNIT_FILE_MAX_SIZE is -EFBIG
 * with a message. -ENOMEM on allocation failure.
 *
 * Fleet's parser (go-systemd unit.Deserialize behind a 4096-byte bufio.Reader) is reproduced
 * byte for byte, quirks included:
 *  - the line guard looks at most 2048 bytes ahead and only when the reader has 2048 bytes
 *    buffered, so whether a long line is rejected depends on where it sits in the file;
 *  - a '\r' is stripped only when it is the very last byte of the text. In a CRLF file the
 *    '\r' stays on each line: values and section suffixes are whitespace-trimmed anyway, but a
 *    continuation ("\\" + CRLF) is not recognized;
 *  - option names are read rune by rune (invalid UTF-8 bytes become U+FFFD), values and
 *    section names are kept as raw bytes; trimming uses Go's unicode.IsSpace.
 */
int unit_file_parse(const char *text, size_t len, UnitFile **ret, char **reterr_message);

/*
 * Fleet's submit-time sanity check (reference 6.7 step 1): serialize u and parse the result.
 * 0 if it parses; otherwise the parser's error (-EINVAL/-EFBIG) and, if reterr_message is
 * non-NULL, its malloc'd message. -ENOMEM on allocation failure.
 */
int unit_file_validate(const UnitFile *u, char **reterr_message);

/* Build a UnitFile from parallel option triples (used by the API's options list). Copies.
 * Both return 0 or -ENOMEM; unit_file_new gives an empty file. */
int unit_file_new(UnitFile **ret);
int unit_file_add(UnitFile *u, const char *section, const char *name, const char *value);

UnitFile *unit_file_free(UnitFile *u);
DEFINE_CLEANUP(UnitFile *, unit_file_free);

/* Normalized serialization (reference 5.4): sections merged in first-seen order. *ret is
 * malloc'd and NUL-terminated; the empty file gives "". 0 or -ENOMEM. */
int unit_file_serialize(const UnitFile *u, char **ret);

/* SHA-1 over the normalized serialization as 40 lowercase hex digits + NUL (fleet's unit
 * hash; the short form is the first UNIT_HASH_SHORT_LEN digits). 0 or -ENOMEM. */
int unit_file_hash(const UnitFile *u, char ret[static UNIT_HASH_HEX_LEN + 1]);

/* SHA-1 of an arbitrary buffer as 40 hex digits + NUL (used when the normalized text is
 * already at hand). data may be NULL if len is 0. Cannot fail (nettle's SHA-1 allocates
 * nothing). */
void unit_hash_bytes(const void *data, size_t len, char ret[static UNIT_HASH_HEX_LEN + 1]);

/* True if s is 40 lowercase hex digits. */
bool unit_hash_is_valid(const char *s);

/* Values of every option in section with that name, in order (borrowed pointers into u,
 * NULL-terminated array malloc'd; free only the array). Returns count or -ENOMEM. */
int unit_file_get_values(const UnitFile *u, const char *section, const char *name,
                         const char ***ret);

/* True if the file has at least one option in this section. */
bool unit_file_has_section(const UnitFile *u, const char *section);

/*
 * Go text semantics that fleet's behaviour depends on, shared by the pure modules that mimic
 * Go string functions (unit-name, glob, xfleet).
 *
 * unit_utf8_decode: Go's utf8.DecodeRune. Decodes the rune at s (len > 0) into *ret_rune and
 * returns its size (1..4); an invalid or truncated sequence gives U+FFFD and size 1. Returns
 * 0 (and leaves *ret_rune alone) if len is 0.
 * unit_is_space: Go's unicode.IsSpace.
 * unit_trim_space: Go's strings.TrimSpace on s[0..len): the trimmed text is
 * s[*ret_start .. *ret_start + *ret_len).
 */
#define UNIT_RUNE_ERROR 0xFFFDu
size_t unit_utf8_decode(const char *s, size_t len, uint32_t *ret_rune);
bool unit_is_space(uint32_t rune);
void unit_trim_space(const char *s, size_t len, size_t *ret_start, size_t *ret_len);
