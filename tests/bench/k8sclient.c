/*
 * k8sclient.c - otel-k8sclient, the Kubernetes API client of `scripts/bench k8s`. Two commands:
 *
 *   list     times whole lists: --repetitions times, one list = the first request plus every
 *            page its `continue` token leads to, on one keep-alive connection. Per list: the
 *            time from the first request to the last byte of the last page (curl's
 *            CURLINFO_TOTAL_TIME summed over the pages), and the time to the first byte of each
 *            page (the server's work before it sends). Also counts items and body bytes, and
 *            gzips the bodies of the first list at level 1 with zlib: what the API server would
 *            send a client that asks for gzip, as client-go does (apiserver responsewriters:
 *            level 1, bodies over 128 KiB). Prints one JSON line; fails when a list answers
 *            anything but 200, or a repetition's items or bytes differ from the first's.
 *   traffic  reads the fake's audit (GET /v1/k8s/audit, a JSON array) on stdin and sums one
 *            user's calls: requests by verb and resource, failures (code >= 300) and the body
 *            bytes of every answer (the fake's own `responseBytes`; a watch has none).
 *
 * The timing excludes parsing: a body is parsed after its page's clock stopped, and only in the
 * first repetition (items, continue tokens); the later ones request the same pages and must
 * get as many bytes.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "strbuf.h"

#define MAX_REPETITIONS 1000
#define MAX_PAGES 10000
#define BODY_MAX ((size_t)1 << 30) /* one page */
#define GZIP_THRESHOLD (128 * 1024)

struct list_options {
    const char *url, *token, *path, *query;
    long repetitions;
};

/* One list: every page. */
struct list_run {
    double seconds, first_byte_seconds;
    long pages, items;
    unsigned long long bytes, gzip_bytes;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: otel-k8sclient list --url URL --token TOKEN --path PATH [--query QUERY]\n"
            "                           [--repetitions N]\n"
            "       otel-k8sclient traffic --user USER < audit.json\n"
            "list: times --repetitions (default 5) whole lists of URL PATH?QUERY, following\n"
            "continue tokens, and prints one JSON line: path, query, repetitions, pages, items,\n"
            "bytes, gzip_bytes, ms (each list), median_ms, max_ms, first_byte_median_ms.\n"
            "traffic: sums USER's calls in the fake's audit: requests, lists, watches, other,\n"
            "failed, bytes, and per resource.\n");
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    struct strbuf *body = ctx;
    strbuf_add(body, data, size * n);
    return body->error ? 0 : size * n;
}

/* Adds the gzip level 1 size of `data` to *out (nothing below the API server's threshold: it
 * sends those as they are). Returns 0 or -ENOMEM. */
static int add_gzip_size(const char *data, size_t len, unsigned long long *out)
{
    if (len <= GZIP_THRESHOLD) {
        *out += len;
        return 0;
    }
    z_stream z = {0};
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    unsigned char chunk[1 << 16];
    z.next_in = (unsigned char *)data;
    z.avail_in = (uInt)len; /* a page is far below 4 GiB (BODY_MAX) */
    int rc;
    do {
        z.next_out = chunk;
        z.avail_out = sizeof(chunk);
        rc = deflate(&z, Z_FINISH);
        *out += sizeof(chunk) - z.avail_out;
    } while (rc == Z_OK);
    deflateEnd(&z);
    return rc == Z_STREAM_END ? 0 : -ENOMEM;
}

/* Runs one list. The first (`discover`) parses every page, counts items, gzips the bodies and
 * appends each page's continue token to `tokens`; the others request the same pages from
 * `tokens` without parsing (the store does not change during a benchmark, so the tokens stay
 * valid). Returns 0 or -1 with a message printed. */
static int run_list(CURL *curl, const struct list_options *o, json_t *tokens, bool discover,
                    struct list_run *run)
{
    memset(run, 0, sizeof(*run));
    struct strbuf url = STRBUF_INIT(1 << 16);
    struct strbuf body = STRBUF_INIT(BODY_MAX);
    int rc = -1;
    for (size_t page = 0;; page++) {
        const char *token = page ? json_string_value(json_array_get(tokens, page - 1)) : NULL;
        if (page && !token)
            break;
        strbuf_release(&url);
        strbuf_printf(&url, "%s%s", o->url, o->path);
        char sep = '?';
        if (o->query && *o->query) {
            strbuf_printf(&url, "?%s", o->query);
            sep = '&';
        }
        if (token) {
            char *escaped = curl_easy_escape(curl, token, 0);
            strbuf_printf(&url, "%ccontinue=%s", sep, escaped ? escaped : "");
            curl_free(escaped);
        }
        strbuf_release(&body);
        if (url.error) {
            fprintf(stderr, "otel-k8sclient: out of memory\n");
            goto done;
        }
        curl_easy_setopt(curl, CURLOPT_URL, strbuf_str(&url));
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
        CURLcode res = curl_easy_perform(curl);
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (res != CURLE_OK || status != 200) {
            fprintf(stderr, "otel-k8sclient: GET %s: %s (HTTP %ld) %.300s\n", strbuf_str(&url),
                    res != CURLE_OK ? curl_easy_strerror(res) : "failed", status,
                    strbuf_str(&body));
            goto done;
        }
        curl_off_t total = 0, first = 0;
        curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME_T, &total);
        curl_easy_getinfo(curl, CURLINFO_STARTTRANSFER_TIME_T, &first);
        run->seconds += (double)total / 1e6;
        run->first_byte_seconds += (double)first / 1e6;
        run->pages++;
        run->bytes += body.len;
        if (!discover)
            continue;
        if (add_gzip_size(strbuf_str(&body), body.len, &run->gzip_bytes) < 0) {
            fprintf(stderr, "otel-k8sclient: gzip failed\n");
            goto done;
        }
        json_error_t jerr;
        json_t *list = json_loadb(strbuf_str(&body), body.len, 0, &jerr);
        json_t *items = json_object_get(list, "items");
        if (!json_is_array(items)) {
            fprintf(stderr, "otel-k8sclient: GET %s: not a list: %s\n", strbuf_str(&url),
                    list ? "no items" : jerr.text);
            json_decref(list);
            goto done;
        }
        run->items += (long)json_array_size(items);
        json_t *next = json_object_get(json_object_get(list, "metadata"), "continue");
        bool more = json_string_length(next) > 0;
        int added = more ? json_array_append(tokens, next) : 0;
        json_decref(list);
        if (added < 0) {
            fprintf(stderr, "otel-k8sclient: out of memory\n");
            goto done;
        }
        if (!more)
            break;
        if (run->pages >= MAX_PAGES) {
            fprintf(stderr, "otel-k8sclient: more than %d pages\n", MAX_PAGES);
            goto done;
        }
    }
    rc = 0;
done:
    strbuf_release(&url);
    strbuf_release(&body);
    return rc;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, long n)
{
    qsort(v, (size_t)n, sizeof(*v), compare_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int command_list(const struct list_options *o)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
    char auth[512];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->token);
    /* curl_slist_append leaves the list as it was when it fails: `headers` is freed once, at
     * the end. */
    struct curl_slist *grown = headers ? curl_slist_append(headers, auth) : NULL;
    if (grown)
        headers = grown;
    double *ms = calloc((size_t)o->repetitions, sizeof(*ms));
    double *first_ms = calloc((size_t)o->repetitions, sizeof(*first_ms));
    json_t *tokens = json_array();
    int rc = 1;
    if (!curl || !grown || !ms || !first_ms || !tokens) {
        fprintf(stderr, "otel-k8sclient: out of memory\n");
        goto done;
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 600L);
    struct list_run first = {0}, run;
    for (long i = 0; i < o->repetitions; i++) {
        if (run_list(curl, o, tokens, i == 0, &run) < 0)
            goto done;
        if (i == 0) {
            first = run;
        } else if (run.bytes != first.bytes || run.pages != first.pages) {
            fprintf(stderr,
                    "otel-k8sclient: list %ld differs from the first: %ld pages, %llu bytes, "
                    "want %ld, %llu\n",
                    i + 1, run.pages, run.bytes, first.pages, first.bytes);
            goto done;
        }
        ms[i] = run.seconds * 1000;
        first_ms[i] = run.first_byte_seconds * 1000;
    }
    printf("{\"path\":\"%s\",\"query\":\"%s\",\"repetitions\":%ld,\"pages\":%ld,\"items\":%ld,"
           "\"bytes\":%llu,\"gzip_bytes\":%llu,\"ms\":[",
           o->path, o->query ? o->query : "", o->repetitions, first.pages, first.items, first.bytes,
           first.gzip_bytes);
    double max = 0;
    for (long i = 0; i < o->repetitions; i++) {
        printf("%s%.1f", i ? "," : "", ms[i]);
        max = ms[i] > max ? ms[i] : max;
    }
    printf("],\"median_ms\":%.1f,\"max_ms\":%.1f,\"first_byte_median_ms\":%.1f}\n",
           median(ms, o->repetitions), max, median(first_ms, o->repetitions));
    rc = 0;
done:
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    free(ms);
    free(first_ms);
    json_decref(tokens);
    return rc;
}

/* ---- traffic ---- */

struct tally {
    long requests, lists, watches, other, failed;
    unsigned long long bytes;
};

static void tally_add(struct tally *t, const char *verb, long code, json_int_t bytes)
{
    t->requests++;
    if (!strcmp(verb, "list"))
        t->lists++;
    else if (!strcmp(verb, "watch"))
        t->watches++;
    else
        t->other++;
    if (code >= 300)
        t->failed++;
    t->bytes += bytes > 0 ? (unsigned long long)bytes : 0;
}

static void tally_print(const struct tally *t)
{
    printf("\"requests\":%ld,\"lists\":%ld,\"watches\":%ld,\"other\":%ld,\"failed\":%ld,"
           "\"bytes\":%llu",
           t->requests, t->lists, t->watches, t->other, t->failed, t->bytes);
}

#define MAX_RESOURCES 32

static int command_traffic(const char *user)
{
    json_error_t jerr;
    json_t *events = json_loadf(stdin, 0, &jerr);
    if (!json_is_array(events)) {
        fprintf(stderr, "otel-k8sclient: stdin is not the audit's JSON array: %s\n",
                events ? "not an array" : jerr.text);
        json_decref(events);
        return 1;
    }
    struct tally all = {0}, per[MAX_RESOURCES] = {{0}};
    const char *names[MAX_RESOURCES];
    size_t n_names = 0, i;
    json_t *event;
    json_array_foreach(events, i, event)
    {
        const char *who =
            json_string_value(json_object_get(json_object_get(event, "user"), "username"));
        if (!who || strcmp(who, user) != 0)
            continue;
        const char *verb = json_string_value(json_object_get(event, "verb"));
        const char *resource =
            json_string_value(json_object_get(json_object_get(event, "objectRef"), "resource"));
        long code = (long)json_integer_value(
            json_object_get(json_object_get(event, "responseStatus"), "code"));
        json_int_t bytes = json_integer_value(json_object_get(event, "responseBytes"));
        verb = verb ? verb : "";
        tally_add(&all, verb, code, bytes);
        if (!resource)
            continue;
        size_t k = 0;
        while (k < n_names && strcmp(names[k], resource) != 0)
            k++;
        if (k == n_names && n_names < MAX_RESOURCES)
            names[n_names++] = resource;
        if (k < n_names)
            tally_add(&per[k], verb, code, bytes);
    }
    printf("{");
    tally_print(&all);
    printf(",\"by_resource\":{");
    for (size_t k = 0; k < n_names; k++) {
        printf("%s\"%s\":{", k ? "," : "", names[k]);
        tally_print(&per[k]);
        printf("}");
    }
    printf("}}\n");
    json_decref(events);
    return 0;
}

static int parse_long(const char *name, const char *text, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text ? text : "", &end, 10);
    if (!text || errno || end == text || *end || v < min || v > max) {
        fprintf(stderr, "otel-k8sclient: %s must be an integer in [%ld, %ld], got \"%s\"\n", name,
                min, max, text ? text : "");
        return -EINVAL;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    bool list = !strcmp(argv[1], "list"), traffic = !strcmp(argv[1], "traffic");
    struct list_options o = {.repetitions = 5};
    const char *user = NULL;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!val) {
            fprintf(stderr, "otel-k8sclient: %s needs a value\n", arg);
            return 2;
        }
        if (list && !strcmp(arg, "--url"))
            o.url = val;
        else if (list && !strcmp(arg, "--token"))
            o.token = val;
        else if (list && !strcmp(arg, "--path"))
            o.path = val;
        else if (list && !strcmp(arg, "--query"))
            o.query = val;
        else if (list && !strcmp(arg, "--repetitions")) {
            if (parse_long(arg, val, 1, MAX_REPETITIONS, &o.repetitions) < 0)
                return 2;
        } else if (traffic && !strcmp(arg, "--user"))
            user = val;
        else {
            fprintf(stderr, "otel-k8sclient: unknown option \"%s\"\n", arg);
            usage(stderr);
            return 2;
        }
        i++;
    }
    if (traffic && user)
        return command_traffic(user);
    if (list && o.url && o.token && o.path) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        int rc = command_list(&o);
        curl_global_cleanup();
        return rc;
    }
    usage(stderr);
    return 2;
}
