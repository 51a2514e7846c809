/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

/* How many bytes to read into before the buffer first has to grow. */
static size_t initial_capacity(int fd, size_t max) {
        struct stat st;

        /* A regular file: its size, and one byte more to see the end of file. */
        if (fstat(fd, &st) >= 0 && S_ISREG(st.st_mode) && st.st_size > 0)
                return MIN((size_t) st.st_size, max) + 1;
        return MIN((size_t) 4096, max + 1);
}

static void buffer_free(char *buf, size_t size, ReadFlags flags) {
        if (buf && (flags & READ_SECRET))
                explicit_bzero(buf, size);
        free(buf);
}

/* Grow *buf (cap + 1 bytes, len of them used) to hold up to max + 1 bytes and a NUL. */
static int buffer_grow(char **buf, size_t *cap, size_t len, size_t max, ReadFlags flags) {
        size_t n = MIN(*cap * 2, max + 1);
        char *b;

        if (!(flags & READ_SECRET)) {
                b = realloc(*buf, n + 1);
                if (!b)
                        return -ENOMEM;
        } else {
                /* realloc() could free the old block without erasing it. */
                b = malloc(n + 1);
                if (!b)
                        return -ENOMEM;
                memcpy(b, *buf, len);
                buffer_free(*buf, *cap + 1, flags);
        }
        *buf = b;
        *cap = n;
        return 0;
}

int read_fd_bounded(int fd, size_t max, ReadFlags flags, char **ret, size_t *ret_size) {
        size_t len = 0, cap;
        char *buf;
        int r;

        assert(fd >= 0);
        assert(max < SIZE_MAX / 2);
        assert(ret);

        cap = initial_capacity(fd, max);
        buf = malloc(cap + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k;

                if (len == cap) {
                        /* max + 1 bytes read: that is one too many. */
                        r = cap > max ? -EFBIG : buffer_grow(&buf, &cap, len, max, flags);
                        if (r < 0) {
                                buffer_free(buf, cap + 1, flags);
                                return r;
                        }
                }
                k = read(fd, buf + len, cap - len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        buffer_free(buf, cap + 1, flags);
                        return r;
                }
                if (k == 0)
                        break;
                len += (size_t) k;
        }
        buf[len] = '\0';
        *ret = buf;
        if (ret_size)
                *ret_size = len;
        return 0;
}

int read_file_bounded(const char *path, int open_flags, size_t max, ReadFlags flags, char **ret,
                      size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;

        assert(path);

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | open_flags);
        if (fd < 0)
                return -errno;
        return read_fd_bounded(fd, max, flags, ret, ret_size);
}
