/* SPDX-License-Identifier: MIT */
/*
 * fleet's unit-file model: go-systemd's unit.Deserialize as vendored by fleet v1.0.0 (reference
 * 5.3), its Serialize (5.4) and the SHA-1 unit hash (5.5).
 *
 * The parser is a state machine with one state per lexer step of the Go code. The Go lexer
 * reads through a 4096-byte bufio.Reader and, before every step, rejects the input if 2048
 * bytes are buffered and none of them is a newline. Which inputs fail therefore depends on
 * the reader's buffer position, so GoReader below models bufio.Reader's fill behaviour
 * exactly (the underlying strings.Reader always returns as much as fits).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha1.h>

#include "errmsg.h"
#include "unit-file.h"

#define GO_BUFSIZE 4096 /* bufio.defaultBufSize */
#define UTF_MAX 4

/* ---- Go text semantics ---------------------------------------------------------------- */

size_t unit_utf8_decode(const char *s, size_t len, uint32_t *ret_rune) {
        const uint8_t *p = (const uint8_t *) s;
        uint8_t lo = 0x80, hi = 0xBF;
        size_t need;
        uint32_t r;

        if (len == 0)
                return 0;
        if (p[0] < 0x80) {
                *ret_rune = p[0];
                return 1;
        }
        if (p[0] >= 0xC2 && p[0] <= 0xDF)
                need = 2, r = p[0] & 0x1F;
        else if (p[0] >= 0xE0 && p[0] <= 0xEF)
                need = 3, r = p[0] & 0x0F;
        else if (p[0] >= 0xF0 && p[0] <= 0xF4)
                need = 4, r = p[0] & 0x07;
        else
                goto invalid;
        /* The second byte's range excludes overlongs, surrogates and > U+10FFFF. */
        if (p[0] == 0xE0)
                lo = 0xA0;
        else if (p[0] == 0xED)
                hi = 0x9F;
        else if (p[0] == 0xF0)
                lo = 0x90;
        else if (p[0] == 0xF4)
                hi = 0x8F;
        if (len < need || p[1] < lo || p[1] > hi)
                goto invalid;
        r = (r << 6) | (p[1] & 0x3F);
        for (size_t i = 2; i < need; i++) {
                if (p[i] < 0x80 || p[i] > 0xBF)
                        goto invalid;
                r = (r << 6) | (p[i] & 0x3F);
        }
        *ret_rune = r;
        return need;
invalid:
        *ret_rune = UNIT_RUNE_ERROR;
        return 1;
}

bool unit_is_space(uint32_t r) {
        switch (r) {
        case '\t':
        case '\n':
        case '\v':
        case '\f':
        case '\r':
        case ' ':
        case 0x85:
        case 0xA0:
        case 0x1680:
        case 0x2028:
        case 0x2029:
        case 0x202F:
        case 0x205F:
        case 0x3000:
                return true;
        default:
                return r >= 0x2000 && r <= 0x200A;
        }
}

/* Go's utf8.FullRune: does p[0..n) begin with a full (or certainly invalid) sequence? */
static bool full_rune(const uint8_t *p, size_t n) {
        size_t need;
        uint8_t lo = 0x80, hi = 0xBF;

        if (n == 0)
                return false;
        if (p[0] < 0xC2 || p[0] > 0xF4)
                return true; /* ASCII or invalid: one byte */
        need = p[0] <= 0xDF ? 2 : p[0] <= 0xEF ? 3 : 4;
        if (n >= need)
                return true;
        if (p[0] == 0xE0)
                lo = 0xA0;
        else if (p[0] == 0xED)
                hi = 0x9F;
        else if (p[0] == 0xF0)
                lo = 0x90;
        else if (p[0] == 0xF4)
                hi = 0x8F;
        if (n > 1 && (p[1] < lo || p[1] > hi))
                return true;
        return n > 2 && (p[2] < 0x80 || p[2] > 0xBF);
}

/* Go's utf8.DecodeLastRune on s[0..len), len > 0. */
static size_t decode_last_rune(const char *s, size_t len, uint32_t *ret_rune) {
        ssize_t start = (ssize_t) len - 1, lim = (ssize_t) len - UTF_MAX;
        size_t size;

        if ((uint8_t) s[start] < 0x80) {
                *ret_rune = (uint8_t) s[start];
                return 1;
        }
        if (lim < 0)
                lim = 0;
        for (start--; start >= lim; start--)
                if (((uint8_t) s[start] & 0xC0) != 0x80)
                        break;
        if (start < 0)
                start = 0;
        size = unit_utf8_decode(s + start, len - (size_t) start, ret_rune);
        if ((size_t) start + size != len) {
                *ret_rune = UNIT_RUNE_ERROR;
                return 1;
        }
        return size;
}

void unit_trim_space(const char *s, size_t len, size_t *ret_start, size_t *ret_len) {
        size_t start = 0, end = len, n;
        uint32_t r;

        while (start < end) {
                n = unit_utf8_decode(s + start, end - start, &r);
                if (!unit_is_space(r))
                        break;
                start += n;
        }
        while (end > start) {
                n = decode_last_rune(s + start, end - start, &r);
                if (!unit_is_space(r))
                        break;
                end -= n;
        }
        *ret_start = start;
        *ret_len = end - start;
}

static size_t utf8_encode(uint32_t r, char out[static UTF_MAX]) {
        if (r < 0x80) {
                out[0] = (char) r;
                return 1;
        }
        if (r < 0x800) {
                out[0] = (char) (0xC0 | (r >> 6));
                out[1] = (char) (0x80 | (r & 0x3F));
                return 2;
        }
        if (r < 0x10000) {
                out[0] = (char) (0xE0 | (r >> 12));
                out[1] = (char) (0x80 | ((r >> 6) & 0x3F));
                out[2] = (char) (0x80 | (r & 0x3F));
                return 3;
        }
        out[0] = (char) (0xF0 | (r >> 18));
        out[1] = (char) (0x80 | ((r >> 12) & 0x3F));
        out[2] = (char) (0x80 | ((r >> 6) & 0x3F));
        out[3] = (char) (0x80 | (r & 0x3F));
        return 4;
}

/* ---- growable byte buffer ------------------------------------------------------------- */

typedef struct Buf {
        char *data;
        size_t len, cap;
} Buf;

static int buf_append(Buf *b, const void *p, size_t n) {
        if (b->cap - b->len < n + 1) {
                size_t cap = MAX(b->cap * 2, b->len + n + 1);
                char *d = realloc(b->data, MAX(cap, (size_t) 64));

                if (!d)
                        return -ENOMEM;
                b->data = d;
                b->cap = MAX(cap, (size_t) 64);
        }
        if (n > 0)
                memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = 0;
        return 0;
}

static int buf_appends(Buf *b, const char *s) {
        return buf_append(b, s, strlen(s));
}

static void buf_done(Buf *b) {
        free(b->data);
        *b = (Buf){};
}

/* ---- bufio.Reader over a strings.Reader ----------------------------------------------- */

typedef struct GoReader {
        const char *p;
        size_t len;
        size_t r, w;      /* absolute offsets of the buffered window [r, w) */
        bool eof;         /* a fill hit the end; cleared when reported (bufio's readErr) */
        size_t last_size; /* size of the last rune read, for unread */
        size_t nl;        /* a newline at or after r, if nl_known (for the line guard) */
        bool nl_known;
} GoReader;

static size_t go_reader_buffered(const GoReader *g) {
        return g->w - g->r;
}

static void go_reader_fill(GoReader *g) {
        size_t n = MIN(GO_BUFSIZE - (g->w - g->r), g->len - g->w);

        if (n == 0)
                g->eof = true;
        else
                g->w += n;
}

/* ReadRune. Returns false at EOF. */
static bool go_reader_read_rune(GoReader *g, uint32_t *ret_rune) {
        while (g->r + UTF_MAX > g->w && !full_rune((const uint8_t *) g->p + g->r, g->w - g->r) &&
               !g->eof && g->w - g->r < GO_BUFSIZE)
                go_reader_fill(g);
        if (g->r == g->w) {
                g->eof = false;
                return false;
        }
        g->last_size = unit_utf8_decode(g->p + g->r, g->w - g->r, ret_rune);
        g->r += g->last_size;
        return true;
}

static void go_reader_unread_rune(GoReader *g) {
        g->r -= g->last_size;
        g->last_size = 0;
}

/*
 * ReadBytes(delim): the bytes up to and including delim are p[*ret_start .. g->r). Returns
 * true if the text ended before delim (Go's io.EOF).
 */
static bool go_reader_read_bytes(GoReader *g, char delim, size_t *ret_start) {
        size_t s = 0;

        *ret_start = g->r;
        for (;;) {
                const char *q = memchr(g->p + g->r + s, delim, g->w - g->r - s);

                if (q) {
                        g->r = (size_t) (q - g->p) + 1;
                        return false;
                }
                if (g->eof) {
                        g->r = g->w;
                        g->eof = false;
                        return true;
                }
                if (go_reader_buffered(g) >= GO_BUFSIZE) {
                        /* ErrBufferFull: ReadBytes keeps the fragment and reads on. */
                        g->r = g->w;
                        s = 0;
                        continue;
                }
                s = g->w - g->r;
                go_reader_fill(g);
        }
}

/* The lexer's toEOL: one line without its "\n" and then without a trailing "\r", so CRLF
 * files parse like LF files. (fleet's lexer trims '\r' before '\n', so it only drops a '\r'
 * that ends the data and breaks continuations in CRLF files; reference 5.3 and fleet-c strip
 * it on every line.) */
static bool go_reader_to_eol(GoReader *g, const char **ret_line, size_t *ret_len) {
        size_t start, n;
        bool eof = go_reader_read_bytes(g, '\n', &start);

        n = g->r - start;
        if (n > 0 && g->p[start + n - 1] == '\n')
                n--;
        if (n > 0 && g->p[start + n - 1] == '\r')
                n--;
        *ret_line = g->p + start;
        *ret_len = n;
        return eof;
}

/* ---- the lexer -------------------------------------------------------------------------- */

typedef enum LexState {
        LEX_NEXT_SECTION, /* before the first section: skip to '[' */
        LEX_SECTION_NAME,
        LEX_SECTION_SUFFIX,
        LEX_IGNORE_LINE, /* a comment, with '\' continuation */
        LEX_NEXT_SECTION_OR_OPTION,
        LEX_OPTION_NAME,
        LEX_OPTION_VALUE,
        LEX_DONE,
} LexState;

typedef struct Lexer {
        GoReader rd;
        LexState state, after_comment;
        char *section;
        char *name;
        Buf value;
        UnitFile *u;
        size_t cap; /* allocated entries of u->options */
        char *error;
} Lexer;

static bool is_comment(uint32_t r) {
        return r == '#' || r == ';';
}

static int lex_next_section(Lexer *l) {
        uint32_t r;

        if (!go_reader_read_rune(&l->rd, &r))
                l->state = LEX_DONE;
        else if (r == '[')
                l->state = LEX_SECTION_NAME;
        else if (is_comment(r)) {
                l->after_comment = LEX_NEXT_SECTION;
                l->state = LEX_IGNORE_LINE;
        }
        return 0;
}

static int lex_section_name(Lexer *l) {
        size_t start;
        char *s;

        if (go_reader_read_bytes(&l->rd, ']', &start))
                return errmsg_set(&l->error, -EINVAL, "unable to find end of section");
        s = strndup(l->rd.p + start, l->rd.r - 1 - start);
        if (!s)
                return -ENOMEM;
        free(l->section);
        l->section = s;
        l->state = LEX_SECTION_SUFFIX;
        return 0;
}

/* Go's fmt %v of a []byte: "[104 105]". */
static int lex_fail_garbage(Lexer *l, const char *p, size_t n) {
        _cleanup_(buf_done) Buf b = {};
        char num[8];
        int r = buf_appends(&b, "[");

        for (size_t i = 0; r >= 0 && i < n; i++) {
                (void) snprintf(num, sizeof(num), i > 0 ? " %u" : "%u", (unsigned) (uint8_t) p[i]);
                r = buf_appends(&b, num);
        }
        if (r < 0 || buf_appends(&b, "]") < 0)
                return -ENOMEM;
        /* The Go code prints a section variable that is never set: hence "name : [". */
        return errmsg_set(&l->error, -EINVAL, "found garbage after section name : %s", b.data);
}

static int lex_section_suffix(Lexer *l) {
        const char *line;
        size_t n, start, len;

        (void) go_reader_to_eol(&l->rd, &line, &n);
        unit_trim_space(line, n, &start, &len);
        if (len > 0)
                return lex_fail_garbage(l, line + start, len);
        l->state = LEX_NEXT_SECTION_OR_OPTION;
        return 0;
}

static int lex_ignore_line(Lexer *l) {
        const char *line;
        size_t n;

        for (;;) {
                (void) go_reader_to_eol(&l->rd, &line, &n);
                if (n > 0 && line[n - 1] == ' ') /* TrimSuffix: one space only */
                        n--;
                if (n == 0 || line[n - 1] != '\\')
                        break;
        }
        l->state = l->after_comment;
        return 0;
}

static int lex_next_section_or_option(Lexer *l) {
        uint32_t r;

        if (!go_reader_read_rune(&l->rd, &r))
                l->state = LEX_DONE;
        else if (unit_is_space(r))
                return 0;
        else if (r == '[')
                l->state = LEX_SECTION_NAME;
        else if (is_comment(r)) {
                l->after_comment = LEX_NEXT_SECTION_OR_OPTION;
                l->state = LEX_IGNORE_LINE;
        } else {
                go_reader_unread_rune(&l->rd);
                l->state = LEX_OPTION_NAME;
        }
        return 0;
}

static int lex_option_name(Lexer *l) {
        _cleanup_(buf_done) Buf name = {};
        size_t start, len;
        uint32_t r;
        char enc[UTF_MAX];

        for (;;) {
                if (!go_reader_read_rune(&l->rd, &r))
                        return errmsg_set(&l->error, -EINVAL, "EOF");
                if (r == '\n' || r == '\r')
                        return errmsg_set(&l->error, -EINVAL,
                                          "unexpected newline encountered while parsing "
                                          "option name");
                if (r == '=')
                        break;
                /* bytes.Buffer.WriteRune: an invalid byte comes back as U+FFFD. */
                if (buf_append(&name, enc, utf8_encode(r, enc)) < 0)
                        return -ENOMEM;
        }
        unit_trim_space(strempty(name.data), name.len, &start, &len);
        free(l->name);
        l->name = strndup(strempty(name.data) + start, len);
        if (!l->name)
                return -ENOMEM;
        l->value.len = 0;
        l->state = LEX_OPTION_VALUE;
        return 0;
}

static int lex_emit(Lexer *l) {
        const char *v = strempty(l->value.data);
        bool newline = l->value.len > 0 && v[l->value.len - 1] == '\n';
        UnitOption *o;
        size_t start, len;

        if (l->u->n_options == l->cap) {
                size_t cap = MAX(l->cap * 2, (size_t) 16);

                o = reallocarray(l->u->options, cap, sizeof(UnitOption));
                if (!o)
                        return -ENOMEM;
                l->u->options = o;
                l->cap = cap;
        }
        o = &l->u->options[l->u->n_options];
        /* A value whose last line was a continuation ("\\" and a newline) keeps the "\n". */
        unit_trim_space(v, l->value.len, &start, &len);
        o->section = strdup(l->section);
        o->name = l->name;
        o->value = malloc(len + 1 + newline);
        l->name = NULL;
        l->u->n_options++;
        if (!o->section || !o->value)
                return -ENOMEM;
        memcpy(o->value, v + start, len);
        if (newline)
                o->value[len] = '\n';
        o->value[len + newline] = 0;
        l->state = LEX_NEXT_SECTION_OR_OPTION;
        return 0;
}

static int lex_option_value(Lexer *l) {
        const char *line;
        size_t n, start, len;
        bool eof = go_reader_to_eol(&l->rd, &line, &n);

        unit_trim_space(line, n, &start, &len);
        if (len == 0) /* a blank line ends the value */
                return lex_emit(l);
        if (buf_append(&l->value, line, n) < 0)
                return -ENOMEM;
        if (line[n - 1] != '\\')
                return lex_emit(l);
        /* Continuation: the backslash stays, the next line follows after "\n" (next step). */
        if (!eof && buf_append(&l->value, "\n", 1) < 0)
                return -ENOMEM;
        return 0;
}

static int lex_step(Lexer *l) {
        switch (l->state) {
        case LEX_NEXT_SECTION:
                return lex_next_section(l);
        case LEX_SECTION_NAME:
                return lex_section_name(l);
        case LEX_SECTION_SUFFIX:
                return lex_section_suffix(l);
        case LEX_IGNORE_LINE:
                return lex_ignore_line(l);
        case LEX_NEXT_SECTION_OR_OPTION:
                return lex_next_section_or_option(l);
        case LEX_OPTION_NAME:
                return lex_option_name(l);
        case LEX_OPTION_VALUE:
                return lex_option_value(l);
        case LEX_DONE:
                break;
        }
        return 0;
}

/*
 * The guard the Go lexer runs before every step (systemd truncates longer lines): with 2048
 * bytes buffered, one of them must be a newline. The last newline found is remembered, so
 * the guard costs O(1) per step and the whole parse stays linear.
 */
static bool line_too_long(GoReader *g) {
        if (go_reader_buffered(g) < UNIT_FILE_LINE_MAX)
                return false;
        if (g->nl_known && g->nl >= g->r) /* found within 2048 bytes of an earlier r */
                return false;
        for (size_t i = g->r; i < g->r + UNIT_FILE_LINE_MAX; i++)
                if (g->p[i] == '\n' || g->p[i] == '\r') {
                        g->nl = i;
                        g->nl_known = true;
                        return false;
                }
        return true;
}

static int lex_run(Lexer *l) {
        int r;

        while (l->state != LEX_DONE) {
                if (line_too_long(&l->rd))
                        return errmsg_set(&l->error, -EINVAL, "line too long (max %d bytes)",
                                          UNIT_FILE_LINE_MAX);
                r = lex_step(l);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void lexer_done(Lexer *l) {
        free(l->section);
        free(l->name);
        buf_done(&l->value);
        unit_file_free(l->u);
        free(l->error);
}

static int check_input(Lexer *l, const char *text, size_t len) {
        const char *nul;

        if (len > UNIT_FILE_MAX_SIZE) {
                return errmsg_set(&l->error, -EFBIG, "unit file too large (%zu bytes, max %d)", len,
                                  UNIT_FILE_MAX_SIZE);
        }
        nul = len > 0 ? memchr(text, 0, len) : NULL;
        if (nul)
                return errmsg_set(&l->error, -EINVAL, "unit file contains a NUL byte at offset %zu",
                                  (size_t) (nul - text));
        return 0;
}

int unit_file_parse(const char *text, size_t len, UnitFile **ret, char **reterr_message) {
        _cleanup_(lexer_done) Lexer l = {
                .rd = {.p = text ? text : "", .len = len},
                .state = LEX_NEXT_SECTION,
        };
        int r;

        assert(ret);
        assert(text || len == 0);

        r = check_input(&l, text, len);
        if (r == 0) {
                r = unit_file_new(&l.u);
                if (r == 0)
                        r = lex_run(&l);
        }
        if (r < 0) {
                if (reterr_message && l.error)
                        *reterr_message = TAKE_PTR(l.error);
                return r;
        }
        *ret = TAKE_PTR(l.u);
        return 0;
}

int unit_file_validate(const UnitFile *u, char **reterr_message) {
        _cleanup_free_ char *text = NULL;
        _cleanup_(unit_file_freep) UnitFile *copy = NULL;
        int r;

        r = unit_file_serialize(u, &text);
        if (r < 0)
                return r;
        return unit_file_parse(text, strlen(text), &copy, reterr_message);
}

/* ---- the model -------------------------------------------------------------------------- */

int unit_file_new(UnitFile **ret) {
        UnitFile *u = calloc(1, sizeof(UnitFile));

        assert(ret);
        if (!u)
                return -ENOMEM;
        *ret = u;
        return 0;
}

int unit_file_add(UnitFile *u, const char *section, const char *name, const char *value) {
        UnitOption o, *options;

        assert(u && section && name && value);
        o = (UnitOption){
                .section = strdup(section),
                .name = strdup(name),
                .value = strdup(value),
        };
        options = reallocarray(u->options, u->n_options + 1, sizeof(UnitOption));
        if (!o.section || !o.name || !o.value || !options) {
                if (options)
                        u->options = options;
                free(o.section);
                free(o.name);
                free(o.value);
                return -ENOMEM;
        }
        u->options = options;
        u->options[u->n_options++] = o;
        return 0;
}

UnitFile *unit_file_free(UnitFile *u) {
        if (!u)
                return NULL;
        for (size_t i = 0; i < u->n_options; i++) {
                free(u->options[i].section);
                free(u->options[i].name);
                free(u->options[i].value);
        }
        free(u->options);
        free(u);
        return NULL;
}

/* Sort key for grouping options by section in first-seen order, keeping option order. */
typedef struct SortEntry {
        const UnitOption *o;
        size_t index, first;
} SortEntry;

static int cmp_section_index(const void *a, const void *b) {
        const SortEntry *x = a, *y = b;
        int c = strcmp(x->o->section, y->o->section);

        if (c != 0)
                return c;
        return x->index < y->index ? -1 : x->index > y->index;
}

static int cmp_first_index(const void *a, const void *b) {
        const SortEntry *x = a, *y = b;

        if (x->first != y->first)
                return x->first < y->first ? -1 : 1;
        return x->index < y->index ? -1 : x->index > y->index;
}

/* Options grouped by section, sections in first-seen order: O(n log n), so a file with many
 * distinct sections cannot make serialization quadratic. */
static SortEntry *sort_by_section(const UnitFile *u) {
        SortEntry *e = calloc(u->n_options, sizeof(SortEntry));

        if (!e)
                return NULL;
        for (size_t i = 0; i < u->n_options; i++)
                e[i] = (SortEntry){.o = &u->options[i], .index = i};
        qsort_safe(e, u->n_options, sizeof(SortEntry), cmp_section_index);
        for (size_t i = 0; i < u->n_options; i++)
                e[i].first = i > 0 && streq(e[i].o->section, e[i - 1].o->section) ? e[i - 1].first
                                                                                  : e[i].index;
        qsort_safe(e, u->n_options, sizeof(SortEntry), cmp_first_index);
        return e;
}

static int serialize_sorted(const SortEntry *e, size_t n, Buf *b) {
        int r = 0;

        for (size_t i = 0; r >= 0 && i < n; i++) {
                const UnitOption *o = e[i].o;

                if (i == 0 || e[i].first != e[i - 1].first) {
                        if (i > 0)
                                r = buf_appends(b, "\n");
                        if (r >= 0)
                                r = buf_appends(b, "[");
                        if (r >= 0)
                                r = buf_appends(b, o->section);
                        if (r >= 0)
                                r = buf_appends(b, "]\n");
                }
                if (r >= 0)
                        r = buf_appends(b, o->name);
                if (r >= 0)
                        r = buf_appends(b, "=");
                if (r >= 0)
                        r = buf_appends(b, o->value);
                if (r >= 0)
                        r = buf_appends(b, "\n");
        }
        return r;
}

int unit_file_serialize(const UnitFile *u, char **ret) {
        _cleanup_(buf_done) Buf b = {};
        _cleanup_free_ SortEntry *e = NULL;
        int r;

        assert(u && ret);
        r = buf_append(&b, "", 0);
        if (r < 0)
                return r;
        if (u->n_options > 0) {
                e = sort_by_section(u);
                if (!e)
                        return -ENOMEM;
                r = serialize_sorted(e, u->n_options, &b);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(b.data);
        return 0;
}

static void sha1_hex(const void *data, size_t len, char ret[static UNIT_HASH_HEX_LEN + 1]) {
        uint8_t md[SHA1_DIGEST_SIZE];
        struct sha1_ctx ctx;

        _Static_assert(SHA1_DIGEST_SIZE * 2 == UNIT_HASH_HEX_LEN, "SHA-1 hex length");
        sha1_init(&ctx);
        sha1_update(&ctx, len, data);
        sha1_digest(&ctx, sizeof(md), md);
        for (size_t i = 0; i < sizeof(md); i++)
                (void) snprintf(ret + 2 * i, 3, "%02x", md[i]);
}

void unit_hash_bytes(const void *data, size_t len, char ret[static UNIT_HASH_HEX_LEN + 1]) {
        assert(data || len == 0);
        sha1_hex(len > 0 ? data : "", len, ret);
}

int unit_file_hash(const UnitFile *u, char ret[static UNIT_HASH_HEX_LEN + 1]) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = unit_file_serialize(u, &text);
        if (r < 0)
                return r;
        sha1_hex(text, strlen(text), ret);
        return 0;
}

bool unit_hash_is_valid(const char *s) {
        if (!s || strlen(s) != UNIT_HASH_HEX_LEN)
                return false;
        return strspn(s, "0123456789abcdef") == UNIT_HASH_HEX_LEN;
}

int unit_file_get_values(const UnitFile *u, const char *section, const char *name,
                         const char ***ret) {
        const char **v;
        size_t n = 0;

        assert(u && section && name && ret);
        v = calloc(u->n_options + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < u->n_options; i++)
                if (streq(u->options[i].section, section) && streq(u->options[i].name, name))
                        v[n++] = u->options[i].value;
        *ret = v;
        return (int) MIN(n, (size_t) INT32_MAX);
}

bool unit_file_has_section(const UnitFile *u, const char *section) {
        assert(u && section);
        for (size_t i = 0; i < u->n_options; i++)
                if (streq(u->options[i].section, section))
                        return true;
        return false;
}
