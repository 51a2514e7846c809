/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "unit-name.h"
#include "unit-dir.h"

#define UNIT_DIR_READ_MAX (1024 * 1024)
#define TMP_PREFIX ".#fleet-"

bool unit_dir_name_is_safe(const char *name) {
        return name && name[0] && !streq(name, ".") && !streq(name, "..") && !strchr(name, '/');
}

bool unit_dir_name_is_recognized(const char *name) {
        /* Every name the API accepts (fleet's agent knew only some unit types and forgot the
         * others' files after a restart). */
        return unit_dir_name_is_safe(name) && name[0] != '.' && unit_name_validate(name, NULL) == 0;
}

int unit_dir_ensure(const char *dir) {
        _cleanup_free_ char *p = NULL;
        struct stat st;

        assert(dir);
        p = strdup(dir);
        if (!p)
                return -ENOMEM;
        /* Create each prefix in turn; an existing component is fine. */
        for (char *s = p + 1;; s++) {
                bool end = *s == '\0';

                if (*s != '/' && !end)
                        continue;
                *s = '\0';
                if (p[0] && mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                if (end)
                        break;
                *s = '/';
        }
        if (stat(dir, &st) < 0)
                return -errno;
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int join(const char *dir, const char *name, char **ret) {
        if (asprintf(ret, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        return 0;
}

static int write_all(int fd, const char *p, size_t len) {
        while (len > 0) {
                ssize_t k = write(fd, p, len);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                len -= (size_t) k;
        }
        return 0;
}

/* Fill the already-created temporary file fd and move it to path. */
static int finish_tmp(int fd, const char *tmp, const char *path, const char *text, size_t len) {
        int r;

        if (fchmod(fd, 0644) < 0)
                return -errno;
        r = write_all(fd, text, len);
        if (r < 0)
                return r;
        if (fsync(fd) < 0)
                return -errno;
        if (rename(tmp, path) < 0)
                return -errno;
        return 0;
}

int unit_dir_write(const char *dir, const char *name, const char *text, size_t len) {
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        assert(dir);
        assert(text || len == 0);
        if (!unit_dir_name_is_safe(name))
                return -EINVAL;
        if (join(dir, name, &path) < 0 || join(dir, TMP_PREFIX "XXXXXX", &tmp) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = finish_tmp(fd, tmp, path, text ? text : "", len);
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

int unit_dir_write_unit(const char *dir, const char *name, const char *text, size_t len) {
        size_t mlen = strlen(UNIT_DIR_MARKER);
        _cleanup_free_ char *buf = malloc(mlen + len + 1);

        if (!buf)
                return -ENOMEM;
        memcpy(buf, UNIT_DIR_MARKER, mlen);
        if (len > 0)
                memcpy(buf + mlen, text, len);
        buf[mlen + len] = '\0';
        return unit_dir_write(dir, name, buf, mlen + len);
}

int unit_dir_remove(const char *dir, const char *name) {
        _cleanup_free_ char *path = NULL;

        assert(dir);
        if (!unit_dir_name_is_safe(name))
                return -EINVAL;
        if (join(dir, name, &path) < 0)
                return -ENOMEM;
        if (unlink(path) < 0)
                return -errno;
        return 0;
}

int unit_dir_read(const char *dir, const char *name, char **ret, size_t *ret_len) {
        _cleanup_free_ char *path = NULL;

        assert(dir);
        assert(ret);
        if (!unit_dir_name_is_safe(name))
                return -EINVAL;
        if (join(dir, name, &path) < 0)
                return -ENOMEM;
        return read_file_bounded(path, O_NOFOLLOW, UNIT_DIR_READ_MAX, 0, ret, ret_len);
}

void unit_dir_entries_free(UnitDirEntry *entries, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(entries[i].name);
                free(entries[i].content);
        }
        free(entries);
}

static int entry_cmp(const void *a, const void *b) {
        return strcmp(((const UnitDirEntry *) a)->name, ((const UnitDirEntry *) b)->name);
}

/* Append an entry for the recognized regular file name, with its content. */
static int scan_add(const char *dir, const char *name, UnitDirEntry **entries, size_t *n) {
        UnitDirEntry *e;
        int r;

        e = realloc(*entries, sizeof(UnitDirEntry) * (*n + 1));
        if (!e)
                return -ENOMEM;
        *entries = e;
        e = &e[*n];
        *e = (UnitDirEntry){.name = strdup(name)};
        if (!e->name)
                return -ENOMEM;
        r = unit_dir_read(dir, name, &e->content, &e->len);
        if (r == -ENOMEM) {
                free(e->name);
                return r;
        }
        /* Only files that carry fleetd's marker are fleetd's: anything else an administrator
         * put there is left alone (never stopped, unloaded or deleted). */
        if (r < 0 || e->len < strlen(UNIT_DIR_MARKER) ||
            !strneq(e->content, UNIT_DIR_MARKER, strlen(UNIT_DIR_MARKER))) {
                if (r < 0)
                        log_warning_errno(r, "Failed to read %s/%s, ignoring it: %m", dir, name);
                else
                        log_info("Ignoring %s/%s: not written by fleetd", dir, name);
                free(e->name);
                free(e->content);
                return 0;
        }
        e->len -= strlen(UNIT_DIR_MARKER);
        memmove(e->content, e->content + strlen(UNIT_DIR_MARKER), e->len + 1);
        (*n)++;
        return 0;
}

static bool entry_is_regular(int dfd, const struct dirent *de) {
        struct stat st;

        if (de->d_type == DT_REG)
                return true;
        if (de->d_type != DT_UNKNOWN)
                return false;
        return fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

static int scan_dir(DIR *d, const char *dir, UnitDirEntry **entries, size_t *n) {
        for (;;) {
                struct dirent *de;
                int r;

                errno = 0;
                de = readdir(d);
                if (!de)
                        return errno > 0 ? -errno : 0;
                if (strneq(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX))) {
                        (void) unlinkat(dirfd(d), de->d_name, 0);
                        continue;
                }
                if (!unit_dir_name_is_recognized(de->d_name) || !entry_is_regular(dirfd(d), de))
                        continue;
                r = scan_add(dir, de->d_name, entries, n);
                if (r < 0)
                        return r;
        }
}

int unit_dir_scan(const char *dir, UnitDirEntry **ret, size_t *ret_n) {
        UnitDirEntry *entries = NULL;
        size_t n = 0;
        DIR *d;
        int r;

        assert(dir);
        assert(ret);
        assert(ret_n);
        d = opendir(dir);
        if (!d) {
                if (errno != ENOENT)
                        return -errno;
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        r = scan_dir(d, dir, &entries, &n);
        (void) closedir(d);
        if (r < 0) {
                unit_dir_entries_free(entries, n);
                return r;
        }
        if (n > 1)
                qsort_safe(entries, n, sizeof(UnitDirEntry), entry_cmp);
        *ret = entries;
        *ret_n = n;
        return 0;
}
