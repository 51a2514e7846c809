/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The agent's units directory (default /run/fleet/units): the unit files fleet writes for
 * systemd to link. Plain synchronous file I/O on a tmpfs; fleetd calls these from its event
 * loop because each is a handful of syscalls on small files, and the startup scan runs once.
 *
 * Every function that takes a unit name refuses one that could escape the directory ("",
 * ".", "..", anything containing '/') with -EINVAL, so a bad name can never touch another
 * file. Temporary files are named ".#fleet-XXXXXX", which no unit name can be.
 */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* True if name is a plain file name: not empty, not "." or "..", no '/'. */
bool unit_dir_name_is_safe(const char *name);

/* True if name is safe and ends in a unit type fleet manages: .service .socket .timer .path
 * .device .mount .automount (reference 5.1). */
bool unit_dir_name_is_recognized(const char *name);

/* mkdir -p dir with mode 0755. 0 (also if it exists as a directory) or negative errno
 * (-ENOTDIR if a non-directory is in the way). */
int unit_dir_ensure(const char *dir);

/*
 * Atomically replace dir/name with len bytes of text: write a temporary file in dir, fchmod
 * 0644, fsync, rename over the target. A reader sees the old or the new file, never a part.
 * 0, -EINVAL (unsafe name), or the errno of the failing syscall (the temporary file is
 * removed on failure).
 */
int unit_dir_write(const char *dir, const char *name, const char *text, size_t len);

/* unlink dir/name. 0 if removed, -ENOENT if it was not there, -EINVAL for an unsafe name,
 * other negative errno on failure. The caller decides that the file is one fleet wrote. */
int unit_dir_remove(const char *dir, const char *name);

/* Read dir/name whole (at most 1 MiB, -EFBIG beyond). *ret is malloc'd and NUL-terminated,
 * *ret_len (optional) its length. 0, -EINVAL (unsafe name), -ENOENT, other negative errno. */
int unit_dir_read(const char *dir, const char *name, char **ret, size_t *ret_len);

/* First line of every unit file fleetd writes. Unit-file comments do not count for the unit
 * hash, and the startup scan only claims files that start with it. */
#define UNIT_DIR_MARKER "# Written by fleetd; removed when the unit leaves this machine.\n"

/* unit_dir_write() of UNIT_DIR_MARKER followed by text. */
int unit_dir_write_unit(const char *dir, const char *name, const char *text, size_t len);

typedef struct UnitDirEntry {
        char *name;    /* file name = unit name */
        char *content; /* whole file, NUL-terminated; NULL if it could not be read */
        size_t len;
        int error; /* 0, or the negative errno of the read when content is NULL */
} UnitDirEntry;

/*
 * The startup scan: every regular file in dir whose name is recognized and that starts with
 * UNIT_DIR_MARKER, sorted by name, with its content after the marker. Other files are not
 * fleetd's and are not listed; neither is a file that cannot be read (its owner cannot be
 * told; a warning is logged). Leftover ".#fleet-*" temporary files of an interrupted write
 * are removed. A missing dir gives 0 entries. *ret is malloc'd (free with
 * unit_dir_entries_free; NULL when there are none). 0 or negative errno of opendir/readdir,
 * or -ENOMEM.
 */
int unit_dir_scan(const char *dir, UnitDirEntry **ret, size_t *ret_n);

void unit_dir_entries_free(UnitDirEntry *entries, size_t n);
