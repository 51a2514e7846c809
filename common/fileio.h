/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Reading a whole file with an upper bound on its size: the config file, the API's TLS
 * certificate and key, and the agent's unit files are all read this way, so that a file that
 * is too large (or a device that never ends) is refused with -EFBIG instead of filling the
 * memory. Blocking, synchronous read(2)s: meant for small local files.
 */

#include <stddef.h>

typedef enum ReadFlags {
        /* Erase every buffer before it is freed (the ones given up when the buffer grows,
         * and the result on failure): for key material. The caller erases the result. */
        READ_SECRET = 1 << 0,
} ReadFlags;

/*
 * Read fd from its current offset to end of file, at most max bytes. Any readable fd will
 * do: a regular file (its size is used to allocate once), a pipe or a character device (read
 * until EOF or until max is exceeded). EINTR is retried.
 *
 * On success returns 0, *ret is a malloc'd buffer holding the bytes read followed by a NUL
 * (the content may contain NULs of its own), and *ret_size (optional) their number. On failure
 * ret and ret_size are untouched and it returns -EFBIG if there are more than max bytes (it
 * reads at most max + 1 to know), -ENOMEM, or read(2)'s negative errno (-EISDIR for a
 * directory). max must be less than SIZE_MAX / 2.
 */
int read_fd_bounded(int fd, size_t max, ReadFlags flags, char **ret, size_t *ret_size);

/*
 * read_fd_bounded() of path, opened with O_RDONLY | O_CLOEXEC | O_NOCTTY | open_flags (say
 * O_NOFOLLOW to refuse a symbolic link with -ELOOP) and closed again. Also returns open(2)'s
 * negative errno (-ENOENT, -EACCES, ...).
 */
int read_file_bounded(const char *path, int open_flags, size_t max, ReadFlags flags, char **ret,
                      size_t *ret_size);
