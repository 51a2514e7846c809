/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "majority.h"
#include "strv.h"

typedef struct Seen {
        char *id;
        usec_t gone_at; /* first observation that saw it not live, 0 while live */
        bool live;      /* at the last observation */
        bool ever_live; /* seen live since the last reset */
        bool held;      /* sticky: until it is live again */
        bool tentative; /* held for now: just gone, or never seen live after a reset */
} Seen;

struct MajorityTracker {
        usec_t window, settle, grace;
        usec_t started_at;
        Seen *seen;
        size_t n_seen;
        bool started; /* an observation was made since the last reset */
        size_t known, expired;
        char **released; /* majority_tracker_set_released() */
};

int majority_tracker_new(MajorityTracker **ret, usec_t window, usec_t settle, usec_t grace) {
        MajorityTracker *t;

        if (window == 0 || grace > window || settle > window)
                return -EINVAL;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->window = window;
        t->settle = settle;
        t->grace = grace;
        *ret = t;
        return 0;
}

void majority_tracker_reset(MajorityTracker *t) {
        for (size_t i = 0; i < t->n_seen; i++)
                free(t->seen[i].id);
        free(t->seen);
        t->seen = NULL;
        t->n_seen = 0;
        t->started = false;
        t->known = t->expired = 0;
        t->released = strv_free(t->released);
}

MajorityTracker *majority_tracker_free(MajorityTracker *t) {
        if (!t)
                return NULL;
        majority_tracker_reset(t);
        free(t);
        return NULL;
}

static Seen *seen_find(const MajorityTracker *t, const char *id) {
        for (size_t i = 0; i < t->n_seen; i++)
                if (streq(t->seen[i].id, id))
                        return &t->seen[i];
        return NULL;
}

static Seen *seen_ensure(MajorityTracker *t, const char *id) {
        Seen *s = seen_find(t, id), *n;

        if (s)
                return s;
        n = realloc(t->seen, sizeof(Seen) * (t->n_seen + 1));
        if (!n)
                return NULL;
        t->seen = n;
        s = &n[t->n_seen];
        *s = (Seen){.id = strdup(id)};
        if (!s->id)
                return NULL;
        t->n_seen++;
        return s;
}

static void seen_remove_at(MajorityTracker *t, size_t i) {
        free(t->seen[i].id);
        t->seen[i] = t->seen[--t->n_seen];
}

int majority_tracker_observe(MajorityTracker *t, usec_t now, char *const *live,
                             char *const *scheduled) {
        size_t n_live = 0, expired = 0;
        int n_new = 0;

        if (!t->started) {
                /* No history: what still owns schedule entries was known a moment ago. */
                STRV_FOREACH(id, scheduled)
                        if (!seen_ensure(t, *id))
                                return -ENOMEM;
                t->started = true;
                t->started_at = now;
        }
        for (size_t i = 0; i < t->n_seen; i++)
                t->seen[i].live = false;
        STRV_FOREACH(id, live) {
                Seen *s = seen_ensure(t, *id);

                if (!s)
                        return -ENOMEM;
                n_live += !s->live;
                *s = (Seen){.id = s->id, .live = true, .ever_live = true};
        }
        for (size_t i = t->n_seen; i-- > 0;) {
                Seen *s = &t->seen[i];

                if (s->live)
                        continue;
                if (s->gone_at == 0)
                        s->gone_at = now;
                /* Its units moved (or it never had any), or it went away longer than a window
                 * ago without being held: it no longer counts. */
                if (!strv_contains(scheduled, s->id) ||
                    (!s->held && s->gone_at + t->window < now)) {
                        seen_remove_at(t, i);
                        continue;
                }
                expired++;
        }
        if (2 * expired > n_live + expired)
                for (size_t i = 0; i < t->n_seen; i++) {
                        Seen *s = &t->seen[i];

                        if (!s->live && !s->held) {
                                s->held = true;
                                n_new++;
                        }
                }
        for (size_t i = 0; i < t->n_seen; i++) {
                Seen *s = &t->seen[i];

                s->tentative = !s->live && !s->held &&
                               (now < s->gone_at + t->settle ||
                                (!s->ever_live && now < t->started_at + t->grace));
        }
        t->known = n_live + expired;
        t->expired = expired;
        return n_new;
}

int majority_tracker_set_released(MajorityTracker *t, char *const *ids) {
        char **c = NULL;

        if (ids && !(c = strv_copy((char **) ids)))
                return -ENOMEM;
        strv_free(t->released);
        t->released = c;
        return 0;
}

/* Held by the rule, or for now, and not released by the operator. */
static bool seen_holds(const MajorityTracker *t, const Seen *s) {
        return (s->held || s->tentative) && !strv_contains(t->released, s->id);
}

bool majority_tracker_is_held(const MajorityTracker *t, const char *id) {
        const Seen *s = seen_find(t, id);

        return s && seen_holds(t, s);
}

bool majority_tracker_is_released(const MajorityTracker *t, const char *id) {
        const Seen *s = seen_find(t, id);

        return s && (s->held || s->tentative) && strv_contains(t->released, id);
}

size_t majority_tracker_n_held(const MajorityTracker *t) {
        size_t n = 0;

        for (size_t i = 0; i < t->n_seen; i++)
                n += t->seen[i].held && !strv_contains(t->released, t->seen[i].id);
        return n;
}

int majority_tracker_held(const MajorityTracker *t, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;

        for (size_t i = 0; i < t->n_seen; i++)
                if (seen_holds(t, &t->seen[i]) && strv_extend(&l, t->seen[i].id) < 0)
                        return -ENOMEM;
        strv_sort(l);
        *ret = TAKE_PTR(l);
        return 0;
}

void majority_tracker_counts(const MajorityTracker *t, size_t *ret_known, size_t *ret_expired) {
        *ret_known = t->known;
        *ret_expired = t->expired;
}

usec_t majority_tracker_next_change(const MajorityTracker *t) {
        usec_t next = 0;

        for (size_t i = 0; i < t->n_seen; i++) {
                const Seen *s = &t->seen[i];
                usec_t end;

                if (!s->tentative || strv_contains(t->released, s->id))
                        continue;
                end = s->gone_at + t->settle;
                if (!s->ever_live)
                        end = MAX(end, t->started_at + t->grace);
                if (next == 0 || end < next)
                        next = end;
        }
        return next;
}
