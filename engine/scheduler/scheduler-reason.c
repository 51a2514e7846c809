/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler-index.h"
#include "scheduler-reason.h"
#include "strv.h"

/* A growing string on top of open_memstream(). */
typedef struct Text {
        FILE *f;
        char *buf;
        size_t size;
} Text;

static int text_open(Text *t) {
        *t = (Text){};
        t->f = open_memstream(&t->buf, &t->size);
        return t->f ? 0 : -ENOMEM;
}

/* Close t and hand out its text: 0, or -ENOMEM if any write failed. */
static int text_finish(Text *t, char **ret) {
        bool failed = ferror(t->f);

        if (fclose(t->f) != 0 || failed || !t->buf) {
                free(t->buf);
                return -ENOMEM;
        }
        *ret = t->buf;
        return 0;
}

int sched_reason_metadata(const XFleet *x, char **ret) {
        bool first = true;
        Text t;
        int r;

        r = text_open(&t);
        if (r < 0)
                return r;
        for (size_t i = 0; x && i < x->n_metadata; i++) {
                const MetadataReq *m = &x->metadata[i];
                size_t n = strv_length(m->allowed);

                if (n > 0) {
                        fputs(first ? "" : " and ", t.f);
                        fputs(n > 1 ? "(" : "", t.f);
                        for (size_t k = 0; k < n; k++)
                                fprintf(t.f, "%s%s=%s", k > 0 ? " or " : "", m->key, m->allowed[k]);
                        fputs(n > 1 ? ")" : "", t.f);
                        first = false;
                }
                STRV_FOREACH(v, m->forbidden) {
                        fprintf(t.f, "%s%s!=%s", first ? "" : " and ", m->key, *v);
                        first = false;
                }
        }
        return text_finish(&t, ret);
}

static const char *other_name(const Sched *s, uint32_t u) {
        return u == SCHED_NONE ? "?" : sched_job_name(s, u);
}

static const char *peer_name(const Sched *s, uint32_t j, uint32_t i) {
        return i < s->jobs[j].n_peers ? s->peers[s->jobs[j].peers_at + i].name : "?";
}

int sched_reason_check(const Sched *s, uint32_t j, const SchedCheck *c, char **ret) {
        _cleanup_free_ char *md = NULL;
        const XFleet *x = sched_job_xfleet(s, j);
        int r;

        switch (c->fail) {
        case SCHED_FAIL_MACHINE_ID:
                r = asprintf(ret, "agent ID \"%s\" does not match required \"%s\"",
                             sched_machine_id(s, c->machine), x->machine_id);
                break;
        case SCHED_FAIL_METADATA:
                r = sched_reason_metadata(x, &md);
                if (r < 0)
                        return r;
                r = asprintf(ret, "local Machine metadata insufficient (MachineMetadata %s)", md);
                break;
        case SCHED_FAIL_PEER:
                r = asprintf(ret, "required peer Unit(%s) is not scheduled locally",
                             peer_name(s, j, c->aux));
                break;
        case SCHED_FAIL_CONFLICT:
                r = asprintf(ret, "found conflict with locally-scheduled Unit(%s)",
                             other_name(s, sched_find_conflicting(s, j, c->machine)));
                break;
        case SCHED_FAIL_REPLACED:
                r = asprintf(ret, "replaced by locally-scheduled Unit(%s)", other_name(s, c->aux));
                break;
        case SCHED_FAIL_DISPLACE:
                r = asprintf(ret,
                             "would displace Unit(%s), which was displaced in this pass already",
                             other_name(s, c->aux));
                break;
        case SCHED_FAIL_CORDONED:
                r = asprintf(ret, "Machine(%s) is cordoned", sched_machine_id(s, c->machine));
                break;
        default:
                assert_se(!"unexpected check result");
        }
        return r < 0 ? -ENOMEM : 0;
}

void sched_tally_add(SchedTally *t, const SchedCheck *c, uint32_t n) {
        assert(c->fail > SCHED_OK && c->fail < _SCHED_FAIL_MAX);
        if (n == 0)
                return;
        /* Prefer an example that names a machine. */
        if (t->count[c->fail] == 0 || t->first[c->fail].machine == SCHED_NONE)
                t->first[c->fail] = *c;
        t->count[c->fail] += n;
}

/* The constraint that failed, e.g. "MachineMetadata region=us", "Conflicts (e.g. with
 * Unit(b) on Machine(m2))". */
static int describe(const Sched *s, uint32_t j, const SchedCheck *c, FILE *f) {
        const XFleet *x = sched_job_xfleet(s, j);
        const char *machine = c->machine == SCHED_NONE ? "?" : sched_machine_id(s, c->machine);
        _cleanup_free_ char *md = NULL;
        int r;

        switch (c->fail) {
        case SCHED_FAIL_MACHINE_ID:
                fprintf(f, "MachineID=%s", x->machine_id);
                break;
        case SCHED_FAIL_METADATA:
                r = sched_reason_metadata(x, &md);
                if (r < 0)
                        return r;
                fprintf(f, "MachineMetadata %s", md);
                break;
        case SCHED_FAIL_PEER:
                fprintf(f, "MachineOf=%s", peer_name(s, j, c->aux));
                break;
        case SCHED_FAIL_CONFLICT:
                fprintf(f, "Conflicts (e.g. with Unit(%s) on Machine(%s))",
                        c->machine == SCHED_NONE
                                ? "?"
                                : other_name(s, sched_find_conflicting(s, j, c->machine)),
                        machine);
                break;
        case SCHED_FAIL_REPLACED:
                fprintf(f, "Replaces (e.g. replaced by Unit(%s) on Machine(%s))",
                        other_name(s, c->aux), machine);
                break;
        case SCHED_FAIL_DISPLACE:
                fprintf(f,
                        "Replaces (e.g. would displace Unit(%s) on Machine(%s), which was "
                        "displaced in this pass already)",
                        other_name(s, c->aux), machine);
                break;
        case SCHED_FAIL_CORDONED:
                fprintf(f, "cordon (e.g. Machine(%s) is cordoned)", machine);
                break;
        default:
                assert_se(!"unexpected check result");
        }
        return 0;
}

int sched_reason_tally(const Sched *s, uint32_t j, const SchedTally *t, char **ret) {
        uint32_t total = 0, kinds = 0;
        bool first = true;
        Text text;
        int r;

        for (int k = SCHED_OK + 1; k < _SCHED_FAIL_MAX; k++) {
                total += t->count[k];
                kinds += t->count[k] > 0;
        }
        if (total == 0) {
                *ret = strdup("no machines available");
                return *ret ? 0 : -ENOMEM;
        }

        if (kinds == 1 && t->count[SCHED_FAIL_CORDONED] > 0) {
                const SchedCheck *c = &t->first[SCHED_FAIL_CORDONED];

                *ret = sched_strdup_printf(
                        "every machine able to run it is cordoned (e.g. Machine(%s)) (%" PRIu32
                        " machine%s checked)",
                        c->machine == SCHED_NONE ? "?" : sched_machine_id(s, c->machine), total,
                        total == 1 ? "" : "s");
                return *ret ? 0 : -ENOMEM;
        }
        r = text_open(&text);
        if (r < 0)
                return r;
        if (kinds == 1)
                fputs("no machine satisfies ", text.f);
        else
                fprintf(text.f, "no machine able to run it (%" PRIu32 " machine%s checked: ", total,
                        total == 1 ? "" : "s");
        for (int k = SCHED_OK + 1; k < _SCHED_FAIL_MAX && r >= 0; k++) {
                if (t->count[k] == 0)
                        continue;
                if (kinds > 1)
                        fprintf(text.f, "%s%" PRIu32 " fail ", first ? "" : ", ", t->count[k]);
                r = describe(s, j, &t->first[k], text.f);
                first = false;
        }
        if (kinds == 1)
                fprintf(text.f, " (%" PRIu32 " machine%s checked)", total, total == 1 ? "" : "s");
        else
                fputs(")", text.f);
        if (r < 0) {
                (void) fclose(text.f);
                free(text.buf);
                return r;
        }
        return text_finish(&text, ret);
}

char *sched_strdup_printf(const char *format, ...) {
        char buf[256];
        va_list ap;
        char *s;
        int n;

        /* Most reasons are short: format on the stack and allocate once. */
        va_start(ap, format);
        n = vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);
        if (n < 0)
                return NULL;
        if ((size_t) n < sizeof(buf))
                return strdup(buf);
        va_start(ap, format);
        n = vasprintf(&s, format, ap);
        va_end(ap);
        return n < 0 ? NULL : s;
}

char *sched_reason_with_load(const char *prefix, uint32_t load) {
        char digits[16], *d = digits + sizeof(digits);
        size_t n = strlen(prefix), k;
        char *s;

        do
                *--d = '0' + load % 10;
        while ((load /= 10) > 0);
        k = digits + sizeof(digits) - d;
        s = malloc(n + k + 9);
        if (!s)
                return NULL;
        memcpy(s, prefix, n);
        memcpy(s + n, " (load ", 7);
        memcpy(s + n + 7, d, k);
        memcpy(s + n + 7 + k, ")", 2);
        return s;
}
