/* SPDX-License-Identifier: MIT */
/*
 * Go's path.Match, which fleet uses for Conflicts and Replaces (reference 6.4). A transcription
 * of the Go algorithm: the pattern is cut into chunks, each an optional run of '*' followed by
 * literal text, '?' and classes; a chunk after a star is tried at every offset that does not
 * skip a '/'. Errors (Go's ErrBadPattern) are -EINVAL; fleet treats them as "no match".
 */
#include <errno.h>
#include <string.h>

#include "glob.h"
#include "macro.h"
#include "unit-file.h"

typedef struct Str {
        const char *p;
        size_t len;
} Str;

static Str str_skip(Str s, size_t n) {
        return (Str){s.p + n, s.len - n};
}

/* scanChunk: split off the leading stars and the chunk up to the next '*' outside a class. */
static void scan_chunk(Str *pattern, bool *ret_star, Str *ret_chunk) {
        bool inrange = false;
        size_t i;

        *ret_star = false;
        while (pattern->len > 0 && pattern->p[0] == '*') {
                *pattern = str_skip(*pattern, 1);
                *ret_star = true;
        }
        for (i = 0; i < pattern->len; i++) {
                char c = pattern->p[i];

                if (c == '\\') {
                        if (i + 1 < pattern->len) /* a trailing '\' fails in match_chunk */
                                i++;
                } else if (c == '[')
                        inrange = true;
                else if (c == ']')
                        inrange = false;
                else if (c == '*' && !inrange)
                        break;
        }
        *ret_chunk = (Str){pattern->p, i};
        *pattern = str_skip(*pattern, i);
}

/* getEsc: one (possibly escaped) rune of a class. */
static int get_esc(Str *chunk, uint32_t *ret_rune) {
        size_t n;

        if (chunk->len == 0 || chunk->p[0] == '-' || chunk->p[0] == ']')
                return -EINVAL;
        if (chunk->p[0] == '\\') {
                *chunk = str_skip(*chunk, 1);
                if (chunk->len == 0)
                        return -EINVAL;
        }
        n = unit_utf8_decode(chunk->p, chunk->len, ret_rune);
        if (*ret_rune == UNIT_RUNE_ERROR && n == 1)
                return -EINVAL;
        *chunk = str_skip(*chunk, n);
        return chunk->len == 0 ? -EINVAL : 0;
}

/* A '[...]' class at the start of *chunk (after the '['); sets *ret_match for rune r. */
static int match_class(Str *chunk, uint32_t r, bool *ret_match) {
        bool negated = false, match = false;
        size_t nrange = 0;

        if (chunk->len > 0 && chunk->p[0] == '^') {
                negated = true;
                *chunk = str_skip(*chunk, 1);
        }
        for (;;) {
                uint32_t lo, hi;
                int k;

                if (chunk->len > 0 && chunk->p[0] == ']' && nrange > 0) {
                        *chunk = str_skip(*chunk, 1);
                        break;
                }
                k = get_esc(chunk, &lo);
                if (k < 0)
                        return k;
                hi = lo;
                if (chunk->p[0] == '-') {
                        *chunk = str_skip(*chunk, 1);
                        k = get_esc(chunk, &hi);
                        if (k < 0)
                                return k;
                }
                if (lo <= r && r <= hi)
                        match = true;
                nrange++;
        }
        *ret_match = match != negated;
        return 0;
}

/*
 * matchChunk: does chunk match a prefix of s? On a mismatch the rest of the chunk is still
 * parsed so that a malformed pattern is always reported. Returns 1 (and the unmatched rest of
 * s in *ret_rest), 0, or -EINVAL for a bad pattern.
 */
static int match_chunk(Str chunk, Str s, Str *ret_rest) {
        bool failed = false, match;
        uint32_t r;
        int k;

        while (chunk.len > 0) {
                if (!failed && s.len == 0)
                        failed = true;
                switch (chunk.p[0]) {
                case '[':
                        r = 0;
                        if (!failed)
                                s = str_skip(s, unit_utf8_decode(s.p, s.len, &r));
                        chunk = str_skip(chunk, 1);
                        k = match_class(&chunk, r, &match);
                        if (k < 0)
                                return k;
                        if (!match)
                                failed = true;
                        break;
                case '?':
                        if (!failed) {
                                if (s.p[0] == '/')
                                        failed = true;
                                s = str_skip(s, unit_utf8_decode(s.p, s.len, &r));
                        }
                        chunk = str_skip(chunk, 1);
                        break;
                case '\\':
                        chunk = str_skip(chunk, 1);
                        if (chunk.len == 0)
                                return -EINVAL;
                        __attribute__((fallthrough));
                default:
                        if (!failed) {
                                if (chunk.p[0] != s.p[0])
                                        failed = true;
                                s = str_skip(s, 1);
                        }
                        chunk = str_skip(chunk, 1);
                        break;
                }
        }
        if (failed)
                return 0;
        *ret_rest = s;
        return 1;
}

/* After a star: try the chunk at every later offset that does not skip a '/'. */
static int match_after_star(Str chunk, Str *name, bool last) {
        for (size_t i = 0; i < name->len && name->p[i] != '/'; i++) {
                Str t;
                int k = match_chunk(chunk, str_skip(*name, i + 1), &t);

                if (k < 0)
                        return k;
                if (k > 0 && !(last && t.len > 0)) {
                        *name = t;
                        return 1;
                }
        }
        return 0;
}

/* Go reports a bad pattern even when an earlier chunk already failed to match. */
static int validate_rest(Str pattern) {
        while (pattern.len > 0) {
                Str chunk, t;
                bool star;
                int k;

                scan_chunk(&pattern, &star, &chunk);
                k = match_chunk(chunk, (Str){}, &t);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* path.Match: 1 match, 0 no match, -EINVAL bad pattern. */
static int go_match(Str pattern, Str name) {
        while (pattern.len > 0) {
                Str chunk, t;
                bool star;
                int k;

                scan_chunk(&pattern, &star, &chunk);
                if (star && chunk.len == 0) /* a trailing '*' matches the rest without '/' */
                        return !memchr(name.p, '/', name.len);
                k = match_chunk(chunk, name, &t);
                if (k > 0 && (t.len == 0 || pattern.len > 0)) {
                        name = t;
                        continue;
                }
                if (k < 0)
                        return k;
                if (star) {
                        k = match_after_star(chunk, &name, pattern.len == 0);
                        if (k < 0)
                                return k;
                        if (k > 0)
                                continue;
                }
                k = validate_rest(pattern);
                return k < 0 ? k : 0;
        }
        return name.len == 0;
}

bool glob_match(const char *pattern, const char *name) {
        if (!pattern || !name)
                return false;
        return go_match((Str){pattern, strlen(pattern)}, (Str){name, strlen(name)}) > 0;
}

int glob_validate(const char *pattern) {
        if (!pattern)
                return -EINVAL;
        return validate_rest((Str){pattern, strlen(pattern)});
}
