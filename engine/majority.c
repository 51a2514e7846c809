/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "majority.h"
#include "strmap.h"
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
        Seen **seen; /* in no particular order */
        size_t n_seen, allocated;
        StrMap index; /* id -> Seen (keys borrowed from it): O(1) per machine at 10,000 */
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
        for (size_t i = 0; i < t->n_seen; i++) {
                free(t->seen[i]->id);
                free(t->seen[i]);
        }
        free(t->seen);
        t->seen = NULL;
        t->n_seen = t->allocated = 0;
        strmap_done(&t->index);
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
        return strmap_get(&t->index, id);
}

static Seen *seen_ensure(MajorityTracker *t, const char *id) {
        _cleanup_free_ Seen *s = NULL;
        Seen *old = seen_find(t, id);
        void *prev;

        if (old)
                return old;
        s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        if (t->n_seen >= t->allocated) {
                size_t a = MAX(2 * t->allocated, (size_t) 16);
                Seen **n = reallocarray(t->seen, a, sizeof(*n));

                if (!n)
                        return NULL;
                t->seen = n;
                t->allocated = a;
        }
        s->id = strdup(id);
        if (!s->id || strmap_put(&t->index, s->id, s, &prev) < 0) {
                free(s->id);
                return NULL;
        }
        t->seen[t->n_seen++] = s;
        return TAKE_PTR(s);
}

static void seen_remove_at(MajorityTracker *t, size_t i) {
        Seen *s = t->seen[i];

        (void) strmap_remove(&t->index, s->id);
        free(s->id);
        free(s);
        t->seen[i] = t->seen[--t->n_seen];
}

/* A set of the strings of l (keys borrowed). 0, -ENOMEM. */
static int set_of(char *const *l, StrMap *ret) {
        STRV_FOREACH(i, l)
                if (strmap_put(ret, *i, *i, NULL) < 0)
                        return -ENOMEM;
        return 0;
}

int majority_tracker_observe(MajorityTracker *t, usec_t now, char *const *live,
                             char *const *scheduled) {
        _cleanup_(strmap_done) StrMap owners = {};
        size_t n_live = 0, expired = 0;
        int n_new = 0;

        if (set_of(scheduled, &owners) < 0)
                return -ENOMEM;
        if (!t->started) {
                /* No history: what still owns schedule entries was known a moment ago. */
                STRV_FOREACH(id, scheduled)
                        if (!seen_ensure(t, *id))
                                return -ENOMEM;
                t->started = true;
                t->started_at = now;
        }
        for (size_t i = 0; i < t->n_seen; i++)
                t->seen[i]->live = false;
        STRV_FOREACH(id, live) {
                Seen *s = seen_ensure(t, *id);

                if (!s)
                        return -ENOMEM;
                n_live += !s->live;
                *s = (Seen){.id = s->id, .live = true, .ever_live = true};
        }
        for (size_t i = t->n_seen; i-- > 0;) {
                Seen *s = t->seen[i];

                if (s->live)
                        continue;
                if (s->gone_at == 0)
                        s->gone_at = now;
                /* Its units moved (or it never had any), or it went away longer than a window
                 * ago without being held: it no longer counts. */
                if (!strmap_get(&owners, s->id) || (!s->held && s->gone_at + t->window < now)) {
                        seen_remove_at(t, i);
                        continue;
                }
                expired++;
        }
        if (2 * expired > n_live + expired)
                for (size_t i = 0; i < t->n_seen; i++) {
                        Seen *s = t->seen[i];

                        if (!s->live && !s->held) {
                                s->held = true;
                                n_new++;
                        }
                }
        for (size_t i = 0; i < t->n_seen; i++) {
                Seen *s = t->seen[i];

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
                n += t->seen[i]->held && !strv_contains(t->released, t->seen[i]->id);
        return n;
}

int majority_tracker_held(const MajorityTracker *t, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;

        for (size_t i = 0; i < t->n_seen; i++)
                if (seen_holds(t, t->seen[i]) && strv_extend(&l, t->seen[i]->id) < 0)
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
                const Seen *s = t->seen[i];
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
