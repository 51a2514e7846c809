/* SPDX-License-Identifier: MIT */
/*
 * An HTTP GET load that is not itself the bottleneck: PARALLEL threads, each with ONE libcurl
 * easy handle (so one keep-alive connection), each sending N / PARALLEL GETs of URL back to
 * back. Every answer must be 200 (else exit 1). Prints the rate over the whole run in
 * requests/s, and the bytes of one answer, on one line: "REQS_PER_S BYTES". A request costs
 * the client a few microseconds (a `curl` process per request costs milliseconds).
 *
 * Usage: bench-get N PARALLEL URL
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <curl/curl.h>

typedef struct Worker {
        pthread_t thread;
        const char *url;
        unsigned n;
        unsigned ok;
        size_t bytes; /* of the last answer */
        size_t cur;
} Worker;

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
        Worker *w = ud;

        (void) p;
        w->cur += sz * n;
        return sz * n;
}

static void *run(void *userdata) {
        Worker *w = userdata;
        CURL *h = curl_easy_init();

        if (!h)
                return NULL;
        curl_easy_setopt(h, CURLOPT_URL, w->url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, w);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
        for (unsigned i = 0; i < w->n; i++) {
                long status = 0;

                w->cur = 0;
                if (curl_easy_perform(h) != CURLE_OK)
                        break;
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
                if (status != 200)
                        break;
                w->ok++;
                w->bytes = w->cur;
        }
        curl_easy_cleanup(h);
        return NULL;
}

int main(int argc, char **argv) {
        unsigned n, p, ok = 0;
        struct timespec t0, t1;
        Worker *w;
        double s;

        if (argc != 4 || (n = (unsigned) atoi(argv[1])) == 0 ||
            (p = (unsigned) atoi(argv[2])) == 0 || p > 256 || n < p) {
                fprintf(stderr, "usage: bench-get N PARALLEL URL   (N >= PARALLEL >= 1)\n");
                return 2;
        }
        w = calloc(p, sizeof(*w));
        if (!w || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return 1;
        (void) clock_gettime(CLOCK_MONOTONIC, &t0);
        for (unsigned i = 0; i < p; i++) {
                w[i].url = argv[3];
                w[i].n = n / p + (i < n % p);
                if (pthread_create(&w[i].thread, NULL, run, &w[i]) != 0)
                        return 1;
        }
        for (unsigned i = 0; i < p; i++) {
                pthread_join(w[i].thread, NULL);
                ok += w[i].ok;
        }
        (void) clock_gettime(CLOCK_MONOTONIC, &t1);
        s = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
        if (ok != n) {
                fprintf(stderr, "bench-get: only %u of %u answers were 200\n", ok, n);
                return 1;
        }
        printf("%.0f %zu\n", n / s, w[0].bytes);
        free(w);
        curl_global_cleanup();
        return 0;
}
