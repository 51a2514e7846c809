/* SPDX-License-Identifier: MIT */
/*
 * The unit-file model against fleet v1.0.0: the parser cases of go-systemd's
 * unit/deserialize_test.go and fleet's unit/unit_test.go (continuation semantics of the
 * vendored go-systemd: the backslash stays and "\n" is appended), the quirks of the reader
 * (line guard, CR), normalization, and hashes that fleet itself printed.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "test-util.h"
#include "unit-file.h"

#define OPTS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NO_OPTS ((const char *const[]){NULL})

typedef struct ParseCase {
        const char *input;
        const char *const *expect; /* section, name, value triples */
        const char *error;         /* expected message, or NULL for success */
} ParseCase;

static const ParseCase parse_cases[] = {
        /* go-systemd deserialize_test.go */
        {"[Unit]\nDescription=Foo\nDescription=Bar\nRequires=baz.service\nAfter=baz.service\n",
         OPTS("Unit", "Description", "Foo", "Unit", "Description", "Bar", "Unit", "Requires",
              "baz.service", "Unit", "After", "baz.service")},
        {"[Unit]\nDescription=Foo\n\n[Service]\nExecStart=/usr/bin/sleep infinity\n\n"
         "[X-Third-Party]\nPants=on\n\n",
         OPTS("Unit", "Description", "Foo", "Service", "ExecStart", "/usr/bin/sleep infinity",
              "X-Third-Party", "Pants", "on")},
        {"[Unit]\n[Service]\n[X-Third-Party]\n", NO_OPTS},
        {"[Service]\nEnvironment= \"FOO=BAR\" \"BAZ=QUX\"\n",
         OPTS("Service", "Environment", "\"FOO=BAR\" \"BAZ=QUX\"")},
        {"[Unit]\nDescription= Unnecessarily wrapped \\\n    words here\n",
         OPTS("Unit", "Description", "Unnecessarily wrapped \\\n    words here")},
        {"; comment alpha\n# comment bravo\n[Unit]\n; comment charlie\n# comment delta\n"
         "#Description=Foo\nDescription=Bar\n; comment echo\n# comment foxtrot\n",
         OPTS("Unit", "Description", "Bar")},
        {"[Unit]\nDescription=Bar\\\n# comment alpha\n\nDescription=Bar\\\n# comment bravo \\\n"
         "Baz\n",
         OPTS("Unit", "Description", "Bar\\\n# comment alpha", "Unit", "Description",
              "Bar\\\n# comment bravo \\\nBaz")},
        {"Description=Foo\n[Unit]\nDescription=Bar\n", OPTS("Unit", "Description", "Bar")},
        {"<<<<<<<<\n[Unit]\nDescription=Bar\n", OPTS("Unit", "Description", "Bar")},
        {"[Unit]\n<<<<<<<<=Bar\n", OPTS("Unit", "<<<<<<<<", "Bar")},
        {"[Unit]\nSome Thing = Bar\n", OPTS("Unit", "Some Thing", "Bar")},
        {"[Unit]\nDescription=Bar", OPTS("Unit", "Description", "Bar")},
        {"[Unit]\nDescription=Bar \\", OPTS("Unit", "Description", "Bar \\")},
        {"[\xc2\xa9]\n\xc2\xb5\xe2\x98\x83=\xc3\x87\xc3\xb4r\xc3\xa8\xc3\x95$",
         OPTS("\xc2\xa9", "\xc2\xb5\xe2\x98\x83", "\xc3\x87\xc3\xb4r\xc3\xa8\xc3\x95$")},
        {"[Unit]\n Description   =words here\n", OPTS("Unit", "Description", "words here")},
        {"[Unit]\nDescription= words here ", OPTS("Unit", "Description", "words here")},
        {"[Unit]\nDescription= words here \\\n  ", OPTS("Unit", "Description", "words here \\\n")},
        {"[Service]\nExecStart=/bin/bash -c \"while true; do echo \\\"ping\\\"; sleep 1; done\"\n",
         OPTS("Service", "ExecStart",
              "/bin/bash -c \"while true; do echo \\\"ping\\\"; sleep 1; done\"")},
        /* fleet unit_test.go TestDeserialize / TestDeserializedUnitGarbage */
        {"\nThis=Ignored\n[Unit]\n;ignore this guy\nDescription = Foo\n\n[Service]\n"
         "ExecStart=echo \"ping\";\nExecStop=echo \"pong\"\n# ignore me, too\nExecStop=echo post\n"
         "\n[X-Fleet]\nMachineMetadata=foo=bar\nMachineMetadata=baz=qux\n",
         OPTS("Unit", "Description", "Foo", "Service", "ExecStart", "echo \"ping\";", "Service",
              "ExecStop", "echo \"pong\"", "Service", "ExecStop", "echo post", "X-Fleet",
              "MachineMetadata", "foo=bar", "X-Fleet", "MachineMetadata", "baz=qux")},
        {"\n>>>>>>>>>>>>>\n[Service]\nExecStart=jim\n# As long as a line has an equals sign, "
         "systemd is happy, so we should pass it through\n<<<<<<<<<<<=bar\n",
         OPTS("Service", "ExecStart", "jim", "Service", "<<<<<<<<<<<", "bar")},
        /* TestDeserializeEscapedMultilines, with the vendored parser's semantics */
        {"\n[Service]\nExecStart=echo \\\n  \"pi\\\n  ng\"\nExecStop=\\\necho \"po\\\nng\"\n"
         "# comments within continuation should not be ignored\nExecStopPre=echo\\\n#pang\n"
         "ExecStopPost=echo\\\n#peng\\\npung\n",
         OPTS("Service", "ExecStart", "echo \\\n  \"pi\\\n  ng\"", "Service", "ExecStop",
              "\\\necho \"po\\\nng\"", "Service", "ExecStopPre", "echo\\\n#pang", "Service",
              "ExecStopPost", "echo\\\n#peng\\\npung")},
        /* continuation then blank line or end: the "\n" stays */
        {"[S]\nA=x\\\n\nB=y\n", OPTS("S", "A", "x\\\n", "S", "B", "y")},
        {"[S]\nA=x\\\n", OPTS("S", "A", "x\\\n")},
        {"[S]\nA=x \\\n   \t\nB=y", OPTS("S", "A", "x \\\n", "S", "B", "y")},
        {"[S]\nA=x\\ \nB=y", OPTS("S", "A", "x\\", "S", "B", "y")},
        /* empty values, no quote or inline-comment processing, duplicates, repeated sections */
        {"[S]\nA=\nB=   \nC=x # c\nD=\"q\" ; z\n",
         OPTS("S", "A", "", "S", "B", "", "S", "C", "x # c", "S", "D", "\"q\" ; z")},
        {"[A]\nx=1\n[B]\ny=2\n[A]\nx=3\n", OPTS("A", "x", "1", "B", "y", "2", "A", "x", "3")},
        {"[S]\n=v\n", OPTS("S", "", "v")},
        {"[S]\nA==b=\n", OPTS("S", "A", "=b=")},
        /* comments: ';' too, continuation with one trailing space, not two */
        {"[S]\n# c \\\nA=1\nB=2\n", OPTS("S", "B", "2")},
        {"[S]\n# c \\ \nA=1\nB=2\n", OPTS("S", "B", "2")},
        {"[S]\n# c \\  \nA=1\nB=2\n", OPTS("S", "A", "1", "S", "B", "2")},
        {"# c \\\n[S]\nA=1\n[T]\nB=2\n", OPTS("T", "B", "2")},
        {"[S]\n; c\\\n; d\\\nA=1\nB=2\n", OPTS("S", "B", "2")},
        /* before the first section only '[' and comments mean anything */
        {"junk[S]\nA=1\n", OPTS("S", "A", "1")},
        {"x#[S]\n[T]\nA=1\n", OPTS("T", "A", "1")},
        {"", NO_OPTS},
        {"no sections at all\n", NO_OPTS},
        /* section names are raw and may span lines */
        {"[ Unit ]\nA=1\n", OPTS(" Unit ", "A", "1")},
        {"[Un\nit]\nA=1\n", OPTS("Un\nit", "A", "1")},
        {"[S]   \t\nA=1\n", OPTS("S", "A", "1")},
        {"[S]A=1\n", NULL, "found garbage after section name : [65 61 49]"},
        {"[Unit] pants\nDescription=Foo\n", NULL,
         "found garbage after section name : [112 97 110 116 115]"},
        /* CR: stripped at the end of every line, so CRLF continuations work */
        {"[S]\r\nA=b\r\nC=d\r", OPTS("S", "A", "b", "S", "C", "d")},
        {"[S]\r\nA=x \\\r\n  y\r\n", OPTS("S", "A", "x \\\n  y")},
        {"[S]\nA=x\\\r", OPTS("S", "A", "x\\")},
        /* Go's unicode.IsSpace and UTF-8: NBSP is space, invalid bytes kept in values and
         * turned into U+FFFD in names */
        {"[S]\n\xc2\xa0"
         "A\xc2\xa0=\xc2\xa0v\xc2\xa0\n",
         OPTS("S", "A", "v")},
        {"[S]\nA\xff=\xff\xfe\n", OPTS("S", "A\xef\xbf\xbd", "\xff\xfe")},
        {"[S]\nA=v\xe2\x80\x83\n", OPTS("S", "A", "v")},
        {"[S]\nA=v\xc2\n", OPTS("S", "A", "v\xc2")},
        {"[S]\n\x0b\x0c"
         "A=1\n",
         OPTS("S", "A", "1")},
        /* errors (TestDeserializeFail, TestBadUnitsFail) */
        {"[Unit\nDescription=Foo\n", NULL, "unable to find end of section"},
        {"[Unit]\nDescription\n", NULL, "unexpected newline encountered while parsing option name"},
        {"[Unit]\n<<<<<<\nDescription=Foo\n", NULL,
         "unexpected newline encountered while parsing option name"},
        {"\n[Unit]\n\n[Service]\n<<<<<<<<<<<<<<<<\n", NULL,
         "unexpected newline encountered while parsing option name"},
        {"\n[Unit]\nnonsense upon stilts\n", NULL,
         "unexpected newline encountered while parsing option name"},
        {"[Unit]\nDescription", NULL, "EOF"},
        {"[Unit]\nA\rB=c\n", NULL, "unexpected newline encountered while parsing option name"},
};

static void assert_options(const UnitFile *u, const char *const *expect, int i) {
        size_t n = 0;

        while (expect[3 * n])
                n++;
        ck_assert_msg(u->n_options == n, "case %d: %zu options, expected %zu", i, u->n_options, n);
        for (size_t k = 0; k < n; k++) {
                ck_assert_str_eq(u->options[k].section, expect[3 * k]);
                ck_assert_str_eq(u->options[k].name, expect[3 * k + 1]);
                ck_assert_str_eq(u->options[k].value, expect[3 * k + 2]);
        }
}

START_TEST(test_parse_table) {
        const ParseCase *c = &parse_cases[_i];
        _cleanup_(unit_file_freep) UnitFile *u = NULL;
        _cleanup_free_ char *msg = NULL;
        int r = unit_file_parse(c->input, strlen(c->input), &u, &msg);

        if (c->error) {
                ck_assert_msg(r == -EINVAL, "case %d: r=%d", _i, r);
                ck_assert_ptr_null(u);
                ck_assert_str_eq(msg, c->error);
        } else {
                ck_assert_msg(r == 0, "case %d: r=%d (%s)", _i, r, strempty(msg));
                ck_assert_ptr_null(msg);
                assert_options(u, c->expect, _i);
        }
}
END_TEST

/* ---- line guard, emulating bufio's 4096-byte buffer --------------------------------- */

static char *repeat(char *p, char c, size_t n) {
        memset(p, c, n);
        return p + n;
}

/* "[U]\n" + "A=" + n x's + tail */
static char *long_line_unit(size_t n, const char *tail) {
        char *t = malloc(6 + n + strlen(tail) + 1), *p = t;

        ck_assert_ptr_nonnull(t);
        p = stpcpy(p, "[U]\nA=");
        p = repeat(p, 'x', n);
        strcpy(p, tail);
        return t;
}

static int parse_str(const char *t, char **ret_msg) {
        _cleanup_(unit_file_freep) UnitFile *u = NULL;

        return unit_file_parse(t, strlen(t), &u, ret_msg);
}

START_TEST(test_line_guard) {
        static const struct {
                size_t n;
                const char *tail;
                bool ok;
        } cases[] = {
                {2045, "\n", true},   /* a 2047-byte line */
                {2046, "\n", false},  /* 2048 bytes before the newline */
                {2045, "\r\n", true}, /* '\r' counts as a newline for the guard */
                {2045, "\ryy\n", true}, {2045, "zyy\n", false},
                {2045, "", true}, /* at the end, 2047 bytes are not "buffered 2048" */
                {2046, "", false},      {5000, "\n", false},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *t = long_line_unit(cases[i].n, cases[i].tail);
                _cleanup_free_ char *msg = NULL;
                int r = parse_str(t, &msg);

                ck_assert_msg((r == 0) == cases[i].ok, "case %zu: r=%d", i, r);
                if (!cases[i].ok)
                        ck_assert_str_eq(msg, "line too long (max 2048 bytes)");
        }
}
END_TEST

/* fleet only checks when 2048 bytes are buffered: a long line starting where the 4096-byte
 * buffer has less than 2048 bytes left is accepted, the same line at the top is not. */
START_TEST(test_line_guard_buffer_position) {
        size_t len = 4 + 2996 + 3003 + 4 * 1000;
        _cleanup_free_ char *t = malloc(len + 1), *msg = NULL;
        _cleanup_(unit_file_freep) UnitFile *u = NULL;
        char *p = t;

        ck_assert_ptr_nonnull(t);
        p = stpcpy(p, "[U]\n");
        for (int i = 0; i < 749; i++) /* to offset 3000 */
                p = stpcpy(p, "B=y\n");
        p = stpcpy(p, "A=");
        p = repeat(p, 'x', 3000);
        p = stpcpy(p, "\n");
        for (int i = 0; i < 1000; i++)
                p = stpcpy(p, "C=z\n");
        ck_assert_uint_eq((size_t) (p - t), len);
        ck_assert_int_eq(unit_file_parse(t, len, &u, &msg), 0);
        ck_assert_uint_eq(u->n_options, 1750);
        ck_assert_uint_eq(strlen(u->options[749].value), 3000);

        /* The same file with the long line first. */
        p = stpcpy(t, "[U]\nA=");
        p = repeat(p, 'x', 3000);
        p = stpcpy(p, "\n");
        for (int i = 0; i < 749; i++)
                p = stpcpy(p, "B=y\n");
        for (int i = 0; i < 1000; i++)
                p = stpcpy(p, "C=z\n");
        ck_assert_uint_eq((size_t) (p - t), len);
        ck_assert_int_eq(unit_file_parse(t, len, &u, &msg), -EINVAL);
        ck_assert_str_eq(msg, "line too long (max 2048 bytes)");
}
END_TEST

START_TEST(test_input_limits) {
        static const char nul[] = "[U]\nA=b\0c\n";
        _cleanup_(unit_file_freep) UnitFile *u = NULL;
        _cleanup_free_ char *msg = NULL, *big = malloc(UNIT_FILE_MAX_SIZE + 1);
        char *p;

        ck_assert_int_eq(unit_file_parse(nul, sizeof(nul) - 1, &u, &msg), -EINVAL);
        ck_assert_ptr_null(u);
        ck_assert_str_eq(msg, "unit file contains a NUL byte at offset 7");
        free(TAKE_PTR(msg));
        /* Without a message pointer the error still comes back. */
        ck_assert_int_eq(unit_file_parse(nul, sizeof(nul) - 1, &u, NULL), -EINVAL);

        /* Exactly 1 MiB parses: "[U]\n", comment lines, and "A=1\n". */
        ck_assert_ptr_nonnull(big);
        p = stpcpy(big, "[U]\n");
        while ((size_t) (p - big) < UNIT_FILE_MAX_SIZE - 4 - 100)
                p = stpcpy(repeat(p, '#', 99), "\n");
        p = repeat(p, ';', (size_t) (big + UNIT_FILE_MAX_SIZE - 4 - p) - 1);
        p = stpcpy(p, "\nA=1\n");
        ck_assert_uint_eq((size_t) (p - big), UNIT_FILE_MAX_SIZE);
        ck_assert_int_eq(unit_file_parse(big, UNIT_FILE_MAX_SIZE, &u, &msg), 0);
        ck_assert_uint_eq(u->n_options, 1);
        ck_assert_str_eq(u->options[0].value, "1");

        ck_assert_int_eq(unit_file_parse(big, UNIT_FILE_MAX_SIZE + 1, &u, &msg), -EFBIG);
        ck_assert_str_eq(msg, "unit file too large (1048577 bytes, max 1048576)");
        u = unit_file_free(u);
        ck_assert_int_eq(unit_file_parse(NULL, 0, &u, NULL), 0);
        ck_assert_uint_eq(u->n_options, 0);
}
END_TEST

/* ---- serialization and hashes -------------------------------------------------------- */

static char *normalize(const char *text) {
        _cleanup_(unit_file_freep) UnitFile *u = NULL;
        char *s = NULL;

        ck_assert_int_eq(unit_file_parse(text, strlen(text), &u, NULL), 0);
        ck_assert_int_eq(unit_file_serialize(u, &s), 0);
        return s;
}

static void hash_text(const char *text, char out[static UNIT_HASH_HEX_LEN + 1]) {
        _cleanup_(unit_file_freep) UnitFile *u = NULL;

        ck_assert_int_eq(unit_file_parse(text, strlen(text), &u, NULL), 0);
        ck_assert_int_eq(unit_file_hash(u, out), 0);
}

START_TEST(test_serialize) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                {"[Unit]\nDescription=x\nAfter=a\n[Service]\nExecStart=/bin/true\n[Unit]\n"
                 "After=b\nWants=z\n",
                 "[Unit]\nDescription=x\nAfter=a\nAfter=b\nWants=z\n\n[Service]\n"
                 "ExecStart=/bin/true\n"},
                {"", ""},
                {"[A]\n[B]\n", ""},
                {"# c\n[Unit]\n Description = My  Service \n\n\n[X-Fleet]\nGlobal=true",
                 "[Unit]\nDescription=My  Service\n\n[X-Fleet]\nGlobal=true\n"},
                {"[S]\nA=x\\\n  y\n", "[S]\nA=x\\\n  y\n"},
                {"[S]\nA=x\\\n\n", "[S]\nA=x\\\n\n"},
                {"[a]\nx=1\n[b]\ny=2\n[c]\nz=3\n[b]\nw=4\n[a]\nv=5\n",
                 "[a]\nx=1\nv=5\n\n[b]\ny=2\nw=4\n\n[c]\nz=3\n"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *s = normalize(cases[i].in), *again = normalize(s);

                ck_assert_str_eq(s, cases[i].out);
                ck_assert_str_eq(again, s); /* normalization is idempotent */
        }
}
END_TEST

START_TEST(test_build_and_serialize) {
        _cleanup_(unit_file_freep) UnitFile *u = NULL;
        _cleanup_free_ char *s = NULL, *msg = NULL;
        char h[UNIT_HASH_HEX_LEN + 1];

        ck_assert_int_eq(unit_file_new(&u), 0);
        ck_assert_int_eq(unit_file_hash(u, h), 0);
        ck_assert_str_eq(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709"); /* SHA-1 of "" */
        ck_assert_int_eq(unit_file_add(u, "Service", "ExecStart", "/bin/sleep 100"), 0);
        ck_assert_int_eq(unit_file_serialize(u, &s), 0);
        ck_assert_str_eq(s, "[Service]\nExecStart=/bin/sleep 100\n");
        ck_assert_int_eq(unit_file_hash(u, h), 0);
        ck_assert_str_eq(h, "1c6fb6f3684bafb0c173d8b8b957ceff031180c1");
        ck_assert_int_eq(unit_file_validate(u, &msg), 0);
        ck_assert_ptr_null(msg);
}
END_TEST

/* 6.7 step 1: options that do not survive serialize + parse are rejected with the parser's
 * message; a replaced value that fits is accepted. */
START_TEST(test_validate_roundtrip) {
        _cleanup_(unit_file_freep) UnitFile *u = NULL, *v = NULL;
        _cleanup_free_ char *msg = NULL, *longv = malloc(3001);

        ck_assert_ptr_nonnull(longv);
        memset(longv, 'x', 3000);
        longv[3000] = 0;
        ck_assert_int_eq(unit_file_new(&u), 0);
        ck_assert_int_eq(unit_file_add(u, "Service", "ExecStart", longv), 0);
        ck_assert_int_eq(unit_file_validate(u, &msg), -EINVAL);
        ck_assert_str_eq(msg, "line too long (max 2048 bytes)");
        free(TAKE_PTR(msg));

        ck_assert_int_eq(unit_file_new(&v), 0);
        ck_assert_int_eq(unit_file_add(v, "Service", "Exec\nStart", "x"), 0);
        ck_assert_int_eq(unit_file_validate(v, &msg), -EINVAL);
        ck_assert_str_eq(msg, "unexpected newline encountered while parsing option name");
}
END_TEST

/* The README of fleet at HEAD (the quickstart hello.service, with the trap). Its hash is not
 * printed anywhere; 19451e0... was cross-checked with `printf '<normalized text>' | sha1sum`. */
static const char hello_readme[] =
        "[Unit]\n"
        "Description=My Service\n"
        "After=docker.service\n"
        "\n"
        "[Service]\n"
        "TimeoutStartSec=0\n"
        "ExecStartPre=-/usr/bin/docker kill hello\n"
        "ExecStartPre=-/usr/bin/docker rm hello\n"
        "ExecStartPre=/usr/bin/docker pull busybox\n"
        "ExecStart=/usr/bin/docker run --name hello busybox /bin/sh -c \"trap 'exit 0' INT TERM; "
        "while true; do echo Hello World; sleep 1; done\"\n"
        "ExecStop=/usr/bin/docker stop hello\n";

/* The earlier README/CoreOS-docs hello.service (no trap). fleetctl list-unit-files shows it as
 * "hello.service 0d1c468" in several published session transcripts. */
static const char hello_docs[] =
        "[Unit]\n"
        "Description=My Service\n"
        "After=docker.service\n"
        "\n"
        "[Service]\n"
        "TimeoutStartSec=0\n"
        "ExecStartPre=-/usr/bin/docker kill hello\n"
        "ExecStartPre=-/usr/bin/docker rm hello\n"
        "ExecStartPre=/usr/bin/docker pull busybox\n"
        "ExecStart=/usr/bin/docker run --name hello busybox /bin/sh -c \"while true; do echo "
        "Hello World; sleep 1; done\"\n"
        "ExecStop=/usr/bin/docker stop hello\n";

/* coreos/docs fleet/launching-containers-fleet.md myapp.service; a published fleetctl
 * list-unit-files session shows "myapp.service 391d247". */
static const char myapp_docs[] =
        "[Unit]\n"
        "Description=MyApp\n"
        "After=docker.service\n"
        "Requires=docker.service\n"
        "\n"
        "[Service]\n"
        "TimeoutStartSec=0\n"
        "ExecStartPre=-/usr/bin/docker kill busybox1\n"
        "ExecStartPre=-/usr/bin/docker rm busybox1\n"
        "ExecStartPre=/usr/bin/docker pull busybox\n"
        "ExecStart=/usr/bin/docker run --name busybox1 busybox /bin/sh -c \"while true; do echo "
        "Hello World; sleep 1; done\"\n"
        "ExecStop=/usr/bin/docker stop busybox1\n";

START_TEST(test_hash_known) {
        static const struct {
                const char *text, *hash;
        } cases[] = {
                /* fleet unit/unit_test.go TestUnitHash */
                {"[Service]\nExecStart=/bin/sleep 100\n",
                 "1c6fb6f3684bafb0c173d8b8b957ceff031180c1"},
                {hello_readme, "19451e0998ffe9aac71c7bd4de06ea28e26a33dd"},
                {hello_docs, "0d1c46846a97b1efd0754e1cff6a4f1ddb09ca66"},
                {myapp_docs, "391d247c0f013f2470a0e15d6fe6ff9ccefc840b"},
                /* formatting does not change the hash */
                {"# hello\n[Service]\n  ExecStart =  /bin/sleep 100   \n\n",
                 "1c6fb6f3684bafb0c173d8b8b957ceff031180c1"},
        };
        char h[UNIT_HASH_HEX_LEN + 1];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                hash_text(cases[i].text, h);
                ck_assert_str_eq(h, cases[i].hash);
                ck_assert(unit_hash_is_valid(h));
        }
        /* The normalized README unit is the file itself, so hashing its bytes agrees. */
        unit_hash_bytes(hello_readme, strlen(hello_readme), h);
        ck_assert_str_eq(h, "19451e0998ffe9aac71c7bd4de06ea28e26a33dd");
        unit_hash_bytes(NULL, 0, h);
        ck_assert_str_eq(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}
END_TEST

START_TEST(test_hash_order_matters) {
        _cleanup_(unit_file_freep) UnitFile *a = NULL, *b = NULL;
        char ha[UNIT_HASH_HEX_LEN + 1], hb[UNIT_HASH_HEX_LEN + 1];

        ck_assert_int_eq(unit_file_new(&a), 0);
        ck_assert_int_eq(unit_file_new(&b), 0);
        ck_assert_int_eq(unit_file_add(a, "Unit", "After", "x"), 0);
        ck_assert_int_eq(unit_file_add(a, "Unit", "After", "y"), 0);
        ck_assert_int_eq(unit_file_add(b, "Unit", "After", "y"), 0);
        ck_assert_int_eq(unit_file_add(b, "Unit", "After", "x"), 0);
        ck_assert_int_eq(unit_file_hash(a, ha), 0);
        ck_assert_int_eq(unit_file_hash(b, hb), 0);
        ck_assert_str_ne(ha, hb);
}
END_TEST

START_TEST(test_hash_is_valid) {
        ck_assert(unit_hash_is_valid("1c6fb6f3684bafb0c173d8b8b957ceff031180c1"));
        ck_assert(!unit_hash_is_valid("1C6FB6F3684BAFB0C173D8B8B957CEFF031180C1"));
        ck_assert(!unit_hash_is_valid("1c6fb6f"));
        ck_assert(!unit_hash_is_valid("1c6fb6f3684bafb0c173d8b8b957ceff031180c10"));
        ck_assert(!unit_hash_is_valid("1c6fb6f3684bafb0c173d8b8b957ceff031180cg"));
        ck_assert(!unit_hash_is_valid(""));
        ck_assert(!unit_hash_is_valid(NULL));
}
END_TEST

START_TEST(test_get_values) {
        static const char text[] = "[Unit]\nAfter=a\nDescription=d\n[Service]\nAfter=s\n[Unit]\n"
                                   "After=b\n";
        _cleanup_(unit_file_freep) UnitFile *u = NULL;
        _cleanup_free_ const char **v = NULL, **none = NULL;

        ck_assert_int_eq(unit_file_parse(text, strlen(text), &u, NULL), 0);
        ck_assert_int_eq(unit_file_get_values(u, "Unit", "After", &v), 2);
        ck_assert_str_eq(v[0], "a");
        ck_assert_str_eq(v[1], "b");
        ck_assert_ptr_null(v[2]);
        ck_assert_int_eq(unit_file_get_values(u, "Unit", "Wants", &none), 0);
        ck_assert_ptr_null(none[0]);
        ck_assert(unit_file_has_section(u, "Service"));
        ck_assert(!unit_file_has_section(u, "X-Fleet"));
        ck_assert(!unit_file_has_section(u, "unit"));
}
END_TEST

/* ---- Go text helpers ------------------------------------------------------------------ */

START_TEST(test_go_text) {
        static const struct {
                const char *s;
                uint32_t rune;
                size_t size;
        } dec[] = {
                {"a", 'a', 1},
                {"\xc2\xa0", 0xA0, 2},
                {"\xe2\x98\x83", 0x2603, 3},
                {"\xf0\x9f\x98\x80", 0x1F600, 4},
                {"\xff", UNIT_RUNE_ERROR, 1},
                {"\xc0\x80", UNIT_RUNE_ERROR, 1},     /* overlong */
                {"\xed\xa0\x80", UNIT_RUNE_ERROR, 1}, /* surrogate */
                {"\xf4\x90\x80\x80", UNIT_RUNE_ERROR, 1},
                {"\xe2\x98", UNIT_RUNE_ERROR, 1}, /* truncated */
                {"\xef\xbf\xbd", UNIT_RUNE_ERROR, 3},
        };
        size_t start, len;
        uint32_t r = 0;

        for (size_t i = 0; i < ELEMENTSOF(dec); i++) {
                ck_assert_uint_eq(unit_utf8_decode(dec[i].s, strlen(dec[i].s), &r), dec[i].size);
                ck_assert_uint_eq(r, dec[i].rune);
        }
        ck_assert_uint_eq(unit_utf8_decode("", 0, &r), 0);
        ck_assert(unit_is_space(' ') && unit_is_space('\v') && unit_is_space(0x85));
        ck_assert(unit_is_space(0x2000) && unit_is_space(0x200A) && unit_is_space(0x3000));
        ck_assert(!unit_is_space(0x200B) && !unit_is_space(0x180E) && !unit_is_space('x'));
        unit_trim_space(" \t\xc2\xa0x y\xe3\x80\x80\n", 11, &start, &len);
        ck_assert_uint_eq(start, 4);
        ck_assert_uint_eq(len, 3);
        unit_trim_space("\xa0 x \xa0", 5, &start, &len); /* stray continuation bytes stay */
        ck_assert_uint_eq(start, 0);
        ck_assert_uint_eq(len, 5);
        unit_trim_space("   ", 3, &start, &len);
        ck_assert_uint_eq(len, 0);
}
END_TEST

static Suite *unit_file_suite(void) {
        Suite *s = suite_create("unit-file");
        TCase *tc = tcase_create("parse");

        tcase_add_loop_test(tc, test_parse_table, 0, ELEMENTSOF(parse_cases));
        tcase_add_test(tc, test_line_guard);
        tcase_add_test(tc, test_line_guard_buffer_position);
        tcase_add_test(tc, test_input_limits);
        suite_add_tcase(s, tc);

        tc = tcase_create("model");
        tcase_add_test(tc, test_serialize);
        tcase_add_test(tc, test_build_and_serialize);
        tcase_add_test(tc, test_validate_roundtrip);
        tcase_add_test(tc, test_hash_known);
        tcase_add_test(tc, test_hash_order_matters);
        tcase_add_test(tc, test_hash_is_valid);
        tcase_add_test(tc, test_get_values);
        tcase_add_test(tc, test_go_text);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(unit_file_suite)
