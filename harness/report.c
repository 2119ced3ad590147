/*
 * report.c - result.json, junit.xml, findings.md (see report.h).
 *
 * junit.xml follows the de-facto schema CI servers read (Jenkins, GitLab, GitHub actions
 * reporters): <testsuites><testsuite><testcase classname name time> with <failure> or <error>.
 */
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "golden.h"
#include "k8s_calls.h"

#define MAX_RESULTS 1024

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int report_remove_tree(const char *path)
{
    if (!path || !*path || !strcmp(path, "/"))
        return -EINVAL;
    if (access(path, F_OK) != 0)
        return 0;
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 ? -errno : 0;
}

int report_prepare_dir(const char *root, const char *name, char *out, size_t size,
                       struct error *err)
{
    /* `name` becomes a folder that is emptied: never "", ".", ".." or a path. */
    if (!*name || !strcmp(name, ".") || !strcmp(name, "..") || strchr(name, '/'))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "not a report name: \"%s\"", name);
    if (snprintf(out, size, "%s/%s", root, name) >= (int)size)
        return error_set(err, -ENAMETOOLONG, ERROR_PERMANENT, "report path too long");
    int rc = report_remove_tree(out);
    if (rc < 0)
        return error_set(err, rc, ERROR_PERMANENT, "cannot empty %s: %s", out, strerror(-rc));
    return golden_mkdirs(out, 0, err);
}

int report_write_result(const char *dir, const json_t *result, struct error *err)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/result.json", dir);
    return golden_write(path, result, err);
}

void report_xml_escape(const char *in, char *out, size_t size)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && n + 7 < size; p++) {
        const char *rep = NULL;
        switch (*p) {
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '&': rep = "&amp;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        default:
            /* XML 1.0 forbids most control characters even escaped. */
            if (*p < 0x20 && *p != '\n' && *p != '\t' && *p != '\r')
                rep = "?";
        }
        if (rep) {
            size_t len = strlen(rep);
            memcpy(out + n, rep, len);
            n += len;
        } else {
            out[n++] = (char)*p;
        }
    }
    out[n] = '\0';
}

struct loaded {
    char name[256];
    json_t *result;
};

static int compare_loaded(const void *a, const void *b)
{
    return strcmp(((const struct loaded *)a)->name, ((const struct loaded *)b)->name);
}

static size_t load_results(const char *root, struct loaded *out, size_t max)
{
    DIR *dir = opendir(root);
    size_t n = 0;
    if (!dir)
        return 0;
    struct dirent *e;
    while ((e = readdir(dir)) && n < max) {
        if (e->d_name[0] == '.')
            continue;
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s/result.json", root, e->d_name);
        json_t *result = json_load_file(path, 0, NULL);
        if (!result)
            continue;
        snprintf(out[n].name, sizeof(out[n].name), "%s", e->d_name);
        out[n].result = result;
        n++;
    }
    closedir(dir);
    qsort(out, n, sizeof(*out), compare_loaded);
    return n;
}

/* A string member, or `fallback` when absent or not a string. */
static const char *text_or(const json_t *object, const char *key, const char *fallback)
{
    const char *s = json_string_value(json_object_get(object, key));
    return s ? s : fallback;
}

static const char *status_of(const json_t *result)
{
    const char *s = json_string_value(json_object_get(result, "status"));
    return s ? s : "error";
}

/* The first failure's message of a result, for junit's message attribute. */
static void first_failure(const json_t *result, char *out, size_t size)
{
    const char *error = json_string_value(json_object_get(result, "error"));
    out[0] = '\0';
    if (error) {
        snprintf(out, size, "%s", error);
        return;
    }
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(result, "steps"), i, item)
    {
        if (!strcmp(text_or(item, "status", ""), "fail")) {
            snprintf(out, size, "step %zu (%s): %s", i, text_or(item, "label", "?"),
                     text_or(item, "error", "failed"));
            return;
        }
    }
    json_array_foreach(json_object_get(result, "checks"), i, item)
    {
        if (!strcmp(text_or(item, "status", ""), "fail")) {
            snprintf(out, size, "%s %s: %s", text_or(item, "check", "?"),
                     text_or(item, "name", "?"), text_or(item, "message", "failed"));
            return;
        }
    }
}

/* Every failure of a result, one per line, for junit's failure text. */
static void all_failures(const json_t *result, FILE *out)
{
    size_t i;
    json_t *item;
    char line[4096], escaped[16384];
    json_array_foreach(json_object_get(result, "steps"), i, item)
    {
        if (strcmp(text_or(item, "status", ""), "fail") != 0)
            continue;
        snprintf(line, sizeof(line), "step %zu (%s): %s\n", i, text_or(item, "label", "?"),
                 text_or(item, "error", "failed"));
        report_xml_escape(line, escaped, sizeof(escaped));
        fputs(escaped, out);
    }
    json_array_foreach(json_object_get(result, "checks"), i, item)
    {
        if (strcmp(text_or(item, "status", ""), "fail") != 0)
            continue;
        snprintf(line, sizeof(line), "%s %s: %s\n", text_or(item, "check", "?"),
                 text_or(item, "name", "?"), text_or(item, "message", "failed"));
        report_xml_escape(line, escaped, sizeof(escaped));
        fputs(escaped, out);
    }
}

static int write_junit(const char *root, struct loaded *results, size_t n, struct error *err)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof(path), "%s/junit.xml", root);
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return error_set(err, -errno, ERROR_PERMANENT, "%s: %s", tmp, strerror(errno));
    size_t failures = 0, errors = 0;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        const char *st = status_of(results[i].result);
        failures += !strcmp(st, "fail");
        errors += !strcmp(st, "error");
        total += json_number_value(json_object_get(results[i].result, "duration_ms")) / 1000.0;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f,
            "<testsuites name=\"otel-harness\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
            "time=\"%.3f\">\n",
            n, failures, errors, total);
    fprintf(f,
            "  <testsuite name=\"scenarios\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
            "time=\"%.3f\">\n",
            n, failures, errors, total);
    for (size_t i = 0; i < n; i++) {
        const json_t *r = results[i].result;
        const char *st = status_of(r);
        char name[600], message[4096], escaped[16384];
        report_xml_escape(results[i].name, name, sizeof(name));
        fprintf(f, "    <testcase classname=\"scenario\" name=\"%s\" time=\"%.3f\">\n", name,
                json_number_value(json_object_get(r, "duration_ms")) / 1000.0);
        if (strcmp(st, "pass") != 0) {
            const char *tag = !strcmp(st, "fail") ? "failure" : "error";
            first_failure(r, message, sizeof(message));
            report_xml_escape(message, escaped, sizeof(escaped));
            fprintf(f, "      <%s message=\"%s\">", tag, escaped);
            all_failures(r, f);
            fprintf(f, "</%s>\n", tag);
        }
        fprintf(f, "      <system-out>report: %s/%s/</system-out>\n", root, name);
        fprintf(f, "    </testcase>\n");
    }
    fprintf(f, "  </testsuite>\n</testsuites>\n");
    if (fclose(f) != 0 || rename(tmp, path) < 0) {
        unlink(tmp);
        return error_set(err, -EIO, ERROR_PERMANENT, "writing %s failed", path);
    }
    return 0;
}

static void write_evidence(FILE *f, const json_t *evidence)
{
    size_t i;
    json_t *item;
    json_array_foreach((json_t *)evidence, i, item)
    {
        char *text = json_dumps(json_object_get(item, "value"), JSON_ENCODE_ANY | JSON_COMPACT);
        fprintf(f, "%s`%s` = %s", i ? ", " : "", text_or(item, "count", "?"), text ? text : "?");
        free(text);
    }
}

/* What the collector's identity asked the Kubernetes API: its refusals and the grants it never
 * used are often the finding itself (an RBAC that silently blocks an attribute, or grants more
 * than the config needs). */
static void write_kubernetes(FILE *f, const json_t *kubernetes)
{
    const char *user = text_or(kubernetes, "as", NULL);
    const json_t *mine =
        json_object_get(json_object_get(kubernetes, "identities"), user ? user : "");
    if (!user || !mine)
        return;
    fprintf(f,
            "\nKubernetes: `%s` (RBAC `%s`) made %" JSON_INTEGER_FORMAT
            " distinct calls, %" JSON_INTEGER_FORMAT " denied",
            user, text_or(kubernetes, "rbac", "?"),
            json_integer_value(json_object_get(mine, "calls")),
            json_integer_value(json_object_get(mine, "denied")));
    size_t i;
    const json_t *item;
    json_array_foreach(json_object_get(mine, "denied_calls"), i, item)
    {
        fprintf(f, "%s`%s`", i ? ", " : ": ", json_string_value(item));
    }
    fprintf(f, ".\n");
    json_array_foreach(json_object_get(mine, "unused_grants"), i, item)
    {
        char text[2048];
        k8s_calls_describe_unused(item, text, sizeof(text));
        fprintf(f, "%s- granted, never used: %s\n", i ? "" : "\n", text);
    }
}

static int write_findings(const char *root, struct loaded *results, size_t n, struct error *err)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof(path), "%s/findings.md", root);
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return error_set(err, -errno, ERROR_PERMANENT, "%s: %s", tmp, strerror(errno));
    fprintf(f, "# Findings\n\n"
               "What the scenarios of this run show about the pipeline, each with the counts "
               "measured in the run (from the fakes' control API and the collector's "
               "self-metrics). Generated by otel-harness from `NAME/result.json`; do not edit.\n");
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *r = results[i].result;
        const json_t *finding = json_object_get(r, "finding");
        const char *text = json_string_value(json_object_get(finding, "text"));
        if (!text)
            continue;
        const char *st = status_of(r);
        fprintf(f, "\n## %s (%s)\n\n%s\n", results[i].name,
                !strcmp(st, "pass")   ? "PASS"
                : !strcmp(st, "fail") ? "FAIL"
                                      : "ERROR",
                text);
        const json_t *evidence = json_object_get(finding, "evidence");
        if (json_array_size(evidence)) {
            fprintf(f, "\nEvidence: ");
            write_evidence(f, evidence);
            fprintf(f, ".\n");
        }
        const json_t *kubernetes = json_object_get(r, "kubernetes");
        if (kubernetes)
            write_kubernetes(f, kubernetes);
        /* A finding measured on part of a config must say which part, or a review reads it as
         * a statement about the whole deployment. */
        const json_t *config = json_object_get(r, "config");
        const char *left_out = json_string_value(json_object_get(config, "left_out_text"));
        if (left_out)
            fprintf(f, "\nRun with part of `%s`; left out: %s.\n", text_or(config, "file", "?"),
                    left_out);
        if (strcmp(st, "pass") != 0)
            fprintf(f,
                    "\nThe scenario did not pass: the finding is not confirmed by this run "
                    "(see %s/result.json).\n",
                    results[i].name);
        shown++;
    }
    if (!shown)
        fprintf(f, "\nNo scenario of this run carries a finding.\n");
    if (fclose(f) != 0 || rename(tmp, path) < 0) {
        unlink(tmp);
        return error_set(err, -EIO, ERROR_PERMANENT, "writing %s failed", path);
    }
    return 0;
}

int report_aggregate(const char *root, struct error *err)
{
    char lock_path[4200];
    snprintf(lock_path, sizeof(lock_path), "%s/.aggregate.lock", root);
    int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock < 0)
        return error_set(err, -errno, ERROR_PERMANENT, "%s: %s", lock_path, strerror(errno));
    /* Serialises concurrent scenario processes: the last one to finish sees every result. */
    while (flock(lock, LOCK_EX) < 0 && errno == EINTR)
        ;
    struct loaded *results = calloc(MAX_RESULTS, sizeof(*results));
    int rc = 0;
    if (!results) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto done;
    }
    size_t n = load_results(root, results, MAX_RESULTS);
    rc = write_junit(root, results, n, err);
    if (rc == 0)
        rc = write_findings(root, results, n, err);
    for (size_t i = 0; i < n; i++)
        json_decref(results[i].result);
    free(results);
done:
    flock(lock, LOCK_UN);
    close(lock);
    return rc;
}
