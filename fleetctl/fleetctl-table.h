/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * fleetctl's table output: a re-implementation of Go's text/tabwriter as fleet configures it,
 * tabwriter.NewWriter(out, 0, 8, 1, '\t', 0) (minwidth 0, tabwidth 8, padding 1, padchar TAB,
 * no flags), so the bytes match fleet's (reference 11.6). Pure.
 *
 * Text is split into lines at '\n' and cells at '\t'. A cell followed by '\t' belongs to a
 * column; the last cell of a line does not. Consecutive lines that have a cell in column i
 * form a block whose width is max(cell width) + padding, rounded up to a multiple of tabwidth,
 * and each cell is padded with TABs to that width. A line with a single cell ends all blocks
 * (Go flushes there). Widths count UTF-8 characters.
 */

#include <stddef.h>

#include "macro.h"

typedef struct TabWriter {
        size_t minwidth;
        size_t tabwidth;
        size_t padding;
        char padchar;
} TabWriter;

/* fleet's settings: 0, 8, 1, '\t'. */
#define TAB_WRITER_FLEET ((TabWriter){.minwidth = 0, .tabwidth = 8, .padding = 1, .padchar = '\t'})

/*
 * Format text as the Go writer would after Write(text) and Flush(). *ret is malloc'd and
 * NUL-terminated. 0 or -ENOMEM.
 */
int tab_writer_format(const TabWriter *w, const char *text, char **ret);

/*
 * A table under construction: rows of cells, joined with '\t' and ended with '\n'.
 * table_add_row copies the cells. table_format renders with fleet's writer.
 */
typedef struct Table {
        char *text;
        size_t len;
} Table;

void table_done(Table *t);
int table_add_row(Table *t, const char *const *cells, size_t n_cells);
int table_format(const Table *t, char **ret);
