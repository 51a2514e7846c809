/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "fleetctl-args.h"

int parse_go_bool(const char *s, bool *ret) {
        static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
        static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (streq(s, yes[i])) {
                        *ret = true;
                        return 0;
                }
                if (streq(s, no[i])) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

static void *member(const FlagSpec *spec, void *opts) {
        return (char *) opts + spec->offset;
}

static int invalid(const FlagSpec *spec, const char *text, const char *func, const char *why,
                   char **reterr) {
        if (spec->shorthand)
                return errmsg_set(reterr, -EINVAL,
                                  "invalid argument \"%s\" for -%c, --%s: strconv.%s: parsing "
                                  "\"%s\": %s",
                                  text, spec->shorthand, spec->name, func, text, why);
        return errmsg_set(reterr, -EINVAL,
                          "invalid argument \"%s\" for --%s: strconv.%s: parsing \"%s\": %s", text,
                          spec->name, func, text, why);
}

int flag_set_value(const FlagSpec *spec, const char *text, void *opts, char **reterr_message) {
        switch (spec->type) {
        case FLAG_BOOL: {
                bool b;

                if (parse_go_bool(text, &b) < 0)
                        return invalid(spec, text, "ParseBool", "invalid syntax", reterr_message);
                *(bool *) member(spec, opts) = b;
                return 0;
        }
        case FLAG_STRING: {
                char **p = member(spec, opts);
                char *s = strdup(text);

                if (!s)
                        return -ENOMEM;
                free(*p);
                *p = s;
                return 0;
        }
        case FLAG_INT: {
                char *end = NULL;
                long long v;

                errno = 0;
                v = strtoll(text, &end, 0);
                if (!*text || isspace((unsigned char) *text) || !end || *end)
                        return invalid(spec, text, "ParseInt", "invalid syntax", reterr_message);
                if (errno == ERANGE || v < INT_MIN || v > INT_MAX)
                        return invalid(spec, text, "ParseInt", "value out of range",
                                       reterr_message);
                *(int *) member(spec, opts) = (int) v;
                return 0;
        }
        case FLAG_DOUBLE: {
                char *end = NULL;
                double v;

                errno = 0;
                v = strtod(text, &end);
                if (!*text || isspace((unsigned char) *text) || !end || *end)
                        return invalid(spec, text, "ParseFloat", "invalid syntax", reterr_message);
                if (errno == ERANGE && isinf(v))
                        return invalid(spec, text, "ParseFloat", "value out of range",
                                       reterr_message);
                *(double *) member(spec, opts) = v;
                return 0;
        }
        }
        return -EINVAL;
}

int flags_set_defaults(const FlagSet *set, void *opts) {
        for (size_t i = 0; set && i < set->n; i++) {
                const FlagSpec *s = &set->specs[i];
                int r;

                if (s->hidden && s->def == NULL)
                        continue;
                if (!s->def) {
                        if (s->type == FLAG_STRING) {
                                char **p = member(s, opts);
                                free(*p);
                                *p = NULL;
                        } else if (s->type == FLAG_BOOL)
                                *(bool *) member(s, opts) = false;
                        else if (s->type == FLAG_INT)
                                *(int *) member(s, opts) = 0;
                        else
                                *(double *) member(s, opts) = 0;
                        continue;
                }
                r = flag_set_value(s, s->def, opts, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

void flags_free(const FlagSet *set, void *opts) {
        for (size_t i = 0; set && i < set->n; i++)
                if (set->specs[i].type == FLAG_STRING) {
                        char **p = member(&set->specs[i], opts);
                        free(*p);
                        *p = NULL;
                }
}

char *flag_env_name(const char *prefix, const char *flag_name) {
        char *s = NULL;

        if (asprintf(&s, "%s_%s", prefix, flag_name) < 0)
                return NULL;
        for (char *p = s; *p; p++)
                *p = *p == '-' ? '_' : (char) toupper((unsigned char) *p);
        return s;
}

int flags_apply_env(const FlagSet *set, const char *prefix, EnvLookup lookup, void *opts,
                    char **reterr_message) {
        for (size_t i = 0; set && i < set->n; i++) {
                _cleanup_free_ char *name = flag_env_name(prefix, set->specs[i].name);
                _cleanup_free_ char *err = NULL;
                const char *v;
                int r;

                if (!name)
                        return -ENOMEM;
                v = lookup(name);
                if (!v || !*v)
                        continue;
                r = flag_set_value(&set->specs[i], v, opts, &err);
                if (r == -EINVAL)
                        return errmsg_set(reterr_message, -EINVAL,
                                          "invalid value \"%s\" for %s: %s", v, name,
                                          strempty(err));
                if (r < 0)
                        return r;
        }
        return 0;
}

static const FlagSpec *find_long(const FlagSet *a, const FlagSet *b, const char *name, size_t len) {
        const FlagSet *sets[] = {a, b};

        for (size_t k = 0; k < ELEMENTSOF(sets); k++)
                for (size_t i = 0; sets[k] && i < sets[k]->n; i++)
                        if (strlen(sets[k]->specs[i].name) == len &&
                            strneq(sets[k]->specs[i].name, name, len))
                                return &sets[k]->specs[i];
        return NULL;
}

static const FlagSpec *find_short(const FlagSet *a, const FlagSet *b, char c) {
        const FlagSet *sets[] = {a, b};

        for (size_t k = 0; k < ELEMENTSOF(sets); k++)
                for (size_t i = 0; sets[k] && i < sets[k]->n; i++)
                        if (sets[k]->specs[i].shorthand == c)
                                return &sets[k]->specs[i];
        return NULL;
}

/* A non-bool flag of the command line's global flags or, before the command is known, of any
 * command: its value is the next argument, not the command name. */
static bool takes_value(const FlagSet *global, const FlagSet *cmds, size_t n_cmds, const char *a) {
        const FlagSpec *s;

        if (a[1] == '-')
                s = find_long(global, NULL, a + 2, strlen(a + 2));
        else
                s = strlen(a) == 2 ? find_short(global, NULL, a[1]) : NULL;
        if (s)
                return s->type != FLAG_BOOL;
        for (size_t k = 0; k < n_cmds; k++) {
                if (a[1] == '-')
                        s = find_long(&cmds[k], NULL, a + 2, strlen(a + 2));
                else
                        s = strlen(a) == 2 ? find_short(&cmds[k], NULL, a[1]) : NULL;
                if (s && s->type != FLAG_BOOL)
                        return true;
        }
        return false;
}

int args_find_command_in(int argc, char *const *argv, const FlagSet *global, const FlagSet *cmds,
                         size_t n_cmds) {
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];

                if (streq(a, "--"))
                        return i + 1 < argc ? i + 1 : -1;
                if (a[0] != '-' || a[1] == '\0')
                        return i;
                /* "--flag=value" and "-x=value" carry their value */
                if (strchr(a, '='))
                        continue;
                if (takes_value(global, cmds, n_cmds, a))
                        i++;
        }
        return -1;
}

int args_find_command(int argc, char *const *argv, const FlagSet *global) {
        return args_find_command_in(argc, argv, global, NULL, 0);
}

static int parse_long(int argc, char *const *argv, int *i, const FlagSet *g, const FlagSet *c,
                      void *opts, char **reterr) {
        const char *a = argv[*i] + 2, *eq = strchr(a, '=');
        size_t len = eq ? (size_t) (eq - a) : strlen(a);
        const FlagSpec *s = find_long(g, c, a, len);

        if (!s || len == 0)
                return errmsg_set(reterr, -EINVAL, "unknown flag: --%.*s", (int) len, a);
        if (eq)
                return flag_set_value(s, eq + 1, opts, reterr);
        if (s->type == FLAG_BOOL)
                return flag_set_value(s, "true", opts, reterr);
        if (*i + 1 >= argc)
                return errmsg_set(reterr, -EINVAL, "flag needs an argument: --%s", s->name);
        (*i)++;
        return flag_set_value(s, argv[*i], opts, reterr);
}

/* "-Af", "-n5", "-n 5", "-f=true" */
static int parse_short(int argc, char *const *argv, int *i, const FlagSet *g, const FlagSet *c,
                       void *opts, char **reterr) {
        const char *arg = argv[*i];

        for (const char *p = arg + 1; *p; p++) {
                const FlagSpec *s = find_short(g, c, *p);

                if (!s)
                        return errmsg_set(reterr, -EINVAL, "unknown shorthand flag: '%c' in %s", *p,
                                          arg);
                if (p[1] == '=')
                        return flag_set_value(s, p + 2, opts, reterr);
                if (s->type == FLAG_BOOL) {
                        int r = flag_set_value(s, "true", opts, reterr);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (p[1])
                        return flag_set_value(s, p + 1, opts, reterr);
                if (*i + 1 >= argc)
                        return errmsg_set(reterr, -EINVAL, "flag needs an argument: '%c' in %s", *p,
                                          arg);
                (*i)++;
                return flag_set_value(s, argv[*i], opts, reterr);
        }
        return 0;
}

int args_parse(int argc, char *const *argv, int skip_index, const FlagSet *global,
               const FlagSet *cmd, void *opts, char ***ret_args, size_t *ret_n_args,
               char **reterr_message) {
        _cleanup_free_ char **args = calloc((size_t) MAX(argc, 1) + 1, sizeof(char *));
        size_t n = 0;
        bool dashdash = false;

        if (!args)
                return -ENOMEM;
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                int r = 0;

                if (i == skip_index)
                        continue;
                if (dashdash || a[0] != '-' || a[1] == '\0')
                        args[n++] = argv[i];
                else if (streq(a, "--"))
                        dashdash = true;
                else if (a[1] == '-')
                        r = parse_long(argc, argv, &i, global, cmd, opts, reterr_message);
                else
                        r = parse_short(argc, argv, &i, global, cmd, opts, reterr_message);
                if (r < 0)
                        return r;
        }
        args[n] = NULL;
        *ret_args = TAKE_PTR(args);
        *ret_n_args = n;
        return 0;
}
