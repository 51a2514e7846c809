/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "fleetctl-table.h"

typedef struct Cell {
        size_t start, size, width;
} Cell;

typedef struct Line {
        Cell *cells;
        size_t n;
} Line;

typedef struct Out {
        char *data;
        size_t len, cap;
        bool oom;
} Out;

typedef struct Fmt {
        const TabWriter *w;
        const char *text;
        Line *lines;
        size_t n_lines;
        size_t *widths; /* stack of column widths */
        size_t n_widths;
        Out out;
} Fmt;

static void out_put(Out *o, const char *s, size_t n) {
        if (o->oom || n == 0)
                return;
        if (o->len + n + 1 > o->cap) {
                size_t cap = MAX(o->cap * 2, o->len + n + 256);
                char *d = realloc(o->data, cap);
                if (!d) {
                        o->oom = true;
                        return;
                }
                o->data = d;
                o->cap = cap;
        }
        memcpy(o->data + o->len, s, n);
        o->len += n;
        o->data[o->len] = '\0';
}

static void out_repeat(Out *o, char c, size_t n) {
        for (size_t i = 0; i < n; i++)
                out_put(o, &c, 1);
}

/* Go's writePadding: TAB padding fills up to the next multiple of tabwidth. */
static void write_padding(Fmt *f, size_t textw, size_t cellw) {
        if (f->w->padchar == '\t') {
                size_t tw = f->w->tabwidth, n;

                if (tw == 0)
                        return;
                cellw = (cellw + tw - 1) / tw * tw;
                n = cellw > textw ? cellw - textw : 0;
                out_repeat(&f->out, '\t', (n + tw - 1) / tw);
                return;
        }
        out_repeat(&f->out, f->w->padchar, cellw > textw ? cellw - textw : 0);
}

static void write_lines(Fmt *f, size_t line0, size_t line1) {
        for (size_t i = line0; i < line1; i++) {
                const Line *l = &f->lines[i];

                for (size_t j = 0; j < l->n; j++) {
                        const Cell *c = &l->cells[j];

                        out_put(&f->out, f->text + c->start, c->size);
                        if (j < f->n_widths)
                                write_padding(f, c->width, f->widths[j]);
                }
                /* The last line is the unterminated one: no newline after it. */
                if (i + 1 < f->n_lines)
                        out_put(&f->out, "\n", 1);
        }
}

/* Go's Writer.format: find blocks of lines with a cell in the current column, size the column
 * for each block, and recurse into the columns to its right. */
static void format_block(Fmt *f, size_t line0, size_t line1) {
        size_t column = f->n_widths;

        for (size_t this = line0; this < line1; this ++) {
                size_t width = f->w->minwidth;

                if (column + 1 >= f->lines[this].n)
                        continue;
                write_lines(f, line0, this);
                line0 = this;
                for (; this < line1; this ++) {
                        const Line *l = &f->lines[this];

                        if (column + 1 >= l->n)
                                break;
                        width = MAX(width, l->cells[column].width + f->w->padding);
                }
                f->widths[f->n_widths++] = width;
                format_block(f, line0, this);
                f->n_widths--;
                line0 = this;
                if (this >= line1)
                        break;
        }
        write_lines(f, line0, line1);
}

static void lines_reset(Fmt *f) {
        for (size_t i = 0; i < f->n_lines; i++)
                free(f->lines[i].cells);
        free(f->lines);
        f->lines = NULL;
        f->n_lines = 0;
}

static int add_line(Fmt *f) {
        Line *l = realloc(f->lines, sizeof(Line) * (f->n_lines + 1));

        if (!l)
                return -ENOMEM;
        f->lines = l;
        f->lines[f->n_lines++] = (Line){};
        return 0;
}

/* Append a cell to the current line; returns the line's cell count or -ENOMEM. */
static int terminate_cell(Fmt *f, size_t start, size_t end) {
        Line *l = &f->lines[f->n_lines - 1];
        Cell *c = realloc(l->cells, sizeof(Cell) * (l->n + 1));
        size_t width = 0;

        if (!c)
                return -ENOMEM;
        for (size_t i = start; i < end; i++)
                if (((unsigned char) f->text[i] & 0xc0) != 0x80)
                        width++;
        c[l->n++] = (Cell){.start = start, .size = end - start, .width = width};
        l->cells = c;
        return (int) l->n;
}

static int flush(Fmt *f) {
        size_t max_cells = 0;

        for (size_t i = 0; i < f->n_lines; i++)
                max_cells = MAX(max_cells, f->lines[i].n);
        free(f->widths);
        f->widths = calloc(max_cells + 1, sizeof(size_t));
        if (!f->widths)
                return -ENOMEM;
        f->n_widths = 0;
        format_block(f, 0, f->n_lines);
        lines_reset(f);
        return add_line(f);
}

int tab_writer_format(const TabWriter *w, const char *text, char **ret) {
        Fmt f = {.w = w, .text = text};
        size_t start = 0, n = strlen(text);
        int r;

        r = add_line(&f);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                char ch = text[i];

                if (ch != '\t' && ch != '\v' && ch != '\n' && ch != '\f')
                        continue;
                r = terminate_cell(&f, start, i);
                start = i + 1;
                if (r < 0 || (ch != '\n' && ch != '\f'))
                        continue;
                /* A line with one cell cannot affect the next lines' columns: Go flushes. */
                if (ch == '\f' || r == 1)
                        r = add_line(&f) < 0 ? -ENOMEM : flush(&f);
                else
                        r = add_line(&f);
        }
        if (r >= 0 && start < n)
                r = terminate_cell(&f, start, n);
        if (r >= 0)
                r = flush(&f);
        lines_reset(&f);
        free(f.widths);
        if (r >= 0 && f.out.oom)
                r = -ENOMEM;
        if (r < 0) {
                free(f.out.data);
                return r;
        }
        *ret = f.out.data ? f.out.data : strdup("");
        return *ret ? 0 : -ENOMEM;
}

void table_done(Table *t) {
        free(t->text);
        *t = (Table){};
}

int table_add_row(Table *t, const char *const *cells, size_t n_cells) {
        size_t add = 1;
        char *p;

        for (size_t i = 0; i < n_cells; i++)
                add += strlen(strempty(cells[i])) + 1;
        p = realloc(t->text, t->len + add + 1);
        if (!p)
                return -ENOMEM;
        t->text = p;
        for (size_t i = 0; i < n_cells; i++) {
                size_t l = strlen(strempty(cells[i]));

                if (i > 0)
                        t->text[t->len++] = '\t';
                memcpy(t->text + t->len, strempty(cells[i]), l);
                t->len += l;
        }
        t->text[t->len++] = '\n';
        t->text[t->len] = '\0';
        return 0;
}

int table_format(const Table *t, char **ret) {
        return tab_writer_format(&TAB_WRITER_FLEET, t->text ? t->text : "", ret);
}
