/*
 * main.c - otel-harness: runs declarative scenarios against a collector and the fakes
 * (DESIGN.md §5).
 *
 *   otel-harness run scenarios/NAME.yaml... [--collector 'CMD {config} {set}'] [--update-golden]
 *                    [--report-dir DIR] [--keep] [--fakes PATH] [--build-dir DIR]
 *                    [--source-dir DIR]
 *   otel-harness list [--scenarios DIR]
 *
 * Binaries are found relative to the build dir (--build-dir, else $OTEL_BUILD_DIR, else
 * build/): build/fakes/otel-fakes and build/reference/otelcol-ref. Exit status: 0 every
 * scenario passed, 1 one failed, 2 usage or harness error.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "httpc.h"
#include "run.h"
#include "scenario.h"
#include "wait.h"

#define MAX_SCENARIOS 256

static void usage(FILE *out)
{
    fprintf(out,
            "usage: otel-harness run SCENARIO.yaml... [options]\n"
            "       otel-harness list [--scenarios DIR]\n"
            "\n"
            "run options:\n"
            "  --collector 'CMD {config} {set}'  the collector to test (default: the built\n"
            "                                    otelcol-ref); {config} becomes --config FILE,\n"
            "                                    {set} the per-run --set overrides\n"
            "  --update-golden                   rewrite golden/NAME/*.json from this run\n"
            "  --report-dir DIR                  where reports go (default: reports)\n"
            "  --keep                            keep the run's temp dir\n"
            "  --fakes PATH                      the otel-fakes binary\n"
            "  --build-dir DIR                   where binaries are built (default:\n"
            "                                    $OTEL_BUILD_DIR or build)\n"
            "  --source-dir DIR                  the repository (default: the scenario's\n"
            "                                    folder's parent)\n");
}

static void on_signal(int sig)
{
    (void)sig;
    wait_cancel();
}

static bool is_executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* An absolute path for `path` (which must exist), or a copy when it cannot be resolved. */
static void absolute(const char *path, char *out, size_t size)
{
    char real[PATH_MAX];
    if (realpath(path, real))
        snprintf(out, size, "%s", real);
    else
        snprintf(out, size, "%s", path);
}

/* The collector runs in the scenario's temp dir, so words of a user template that name
 * existing files relative to here (a binary, a valgrind suppression file) are made absolute.
 * Words are re-quoted with single quotes. */
static int absolutise_template(const char *tmpl, char *out, size_t size)
{
    size_t n = 0;
    const char *p = tmpl;
    out[0] = '\0';
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char *start = p;
        /* Quoted words are left exactly as written. */
        if (*p == '\'' || *p == '"') {
            char q = *p++;
            while (*p && *p != q)
                p++;
            if (*p)
                p++;
        }
        while (*p && *p != ' ' && *p != '\t')
            p++;
        char word[PATH_MAX];
        snprintf(word, sizeof(word), "%.*s", (int)(p - start), start);
        char resolved[PATH_MAX + 2];
        if (word[0] != '/' && word[0] != '-' && word[0] != '\'' && word[0] != '"' &&
            !strchr(word, '{') && strchr(word, '/') && access(word, F_OK) == 0) {
            char abs[PATH_MAX];
            absolute(word, abs, sizeof(abs));
            snprintf(resolved, sizeof(resolved), "'%s'", abs);
        } else {
            snprintf(resolved, sizeof(resolved), "%s", word);
        }
        int w = snprintf(out + n, size - n, "%s%s", n ? " " : "", resolved);
        if (w < 0 || (size_t)w >= size - n)
            return -E2BIG;
        n += (size_t)w;
    }
    return 0;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmd_list(int argc, char **argv)
{
    const char *dir = NULL;
    char default_dir[PATH_MAX];
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--scenarios") && i + 1 < argc) {
            dir = argv[++i];
        } else {
            fprintf(stderr, "otel-harness list: unknown argument %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!dir) {
        const char *src = getenv("OTEL_SOURCE_DIR");
        snprintf(default_dir, sizeof(default_dir), "%s%sscenarios", src ? src : "", src ? "/" : "");
        dir = default_dir;
    }
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "otel-harness list: %s: %s\n", dir, strerror(errno));
        return 2;
    }
    char *names[MAX_SCENARIOS];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < MAX_SCENARIOS) {
        size_t len = strlen(e->d_name);
        if (len > 5 && !strcmp(e->d_name + len - 5, ".yaml") && (names[n] = strdup(e->d_name)))
            n++;
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), compare_strings);
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX + 300];
        struct scenario *s = NULL;
        struct error err;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (scenario_load(path, NULL, &s, &err) < 0) {
            printf("%-32s INVALID: %s\n", names[i], err.message);
            status = 1;
        } else {
            printf("%-32s %s\n", s->name, s->summary);
        }
        scenario_free(s);
        free(names[i]);
    }
    return status;
}

static int cmd_run(int argc, char **argv)
{
    const char *scenarios[MAX_SCENARIOS];
    size_t count = 0;
    const char *collector = NULL, *fakes = NULL, *build = NULL, *report = "reports";
    const char *source = NULL;
    bool update = false, keep = false;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (!strcmp(a, "--collector") && has_value)
            collector = argv[++i];
        else if (!strcmp(a, "--fakes") && has_value)
            fakes = argv[++i];
        else if (!strcmp(a, "--build-dir") && has_value)
            build = argv[++i];
        else if (!strcmp(a, "--report-dir") && has_value)
            report = argv[++i];
        else if (!strcmp(a, "--source-dir") && has_value)
            source = argv[++i];
        else if (!strcmp(a, "--update-golden"))
            update = true;
        else if (!strcmp(a, "--keep"))
            keep = true;
        else if (a[0] == '-') {
            fprintf(stderr, "otel-harness run: unknown option %s%s\n", a,
                    has_value ? "" : " (or it lacks its value)");
            usage(stderr);
            return 2;
        } else if (count < MAX_SCENARIOS)
            scenarios[count++] = a;
    }
    if (!count) {
        fprintf(stderr, "otel-harness run: no scenario given\n");
        usage(stderr);
        return 2;
    }
    if (!build)
        build = getenv("OTEL_BUILD_DIR");
    if (!build || !*build)
        build = "build";

    char fakes_path[PATH_MAX], path[PATH_MAX + 64], tmpl[8192];
    if (!fakes) {
        snprintf(path, sizeof(path), "%s/fakes/otel-fakes", build);
        fakes = path;
    }
    if (!is_executable(fakes)) {
        fprintf(stderr,
                "otel-harness: otel-fakes not found at %s (build it with `cmake --build "
                "%s`, or pass --fakes PATH or --build-dir DIR)\n",
                fakes, build);
        return 2;
    }
    absolute(fakes, fakes_path, sizeof(fakes_path));
    if (!collector) {
        char ref[PATH_MAX + 64], abs[PATH_MAX];
        snprintf(ref, sizeof(ref), "%s/reference/otelcol-ref", build);
        if (!is_executable(ref)) {
            fprintf(stderr,
                    "otel-harness: otelcol-ref not found at %s (build it, or pass "
                    "--collector 'CMD {config} {set}' or --build-dir DIR)\n",
                    ref);
            return 2;
        }
        absolute(ref, abs, sizeof(abs));
        snprintf(tmpl, sizeof(tmpl), "'%s' {config} {set}", abs);
    } else if (absolutise_template(collector, tmpl, sizeof(tmpl)) < 0) {
        fprintf(stderr, "otel-harness: --collector template too long\n");
        return 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct error err;
    if (httpc_global_init(&err) < 0) {
        fprintf(stderr, "otel-harness: %s\n", err.message);
        return 2;
    }
    int status = 0;
    for (size_t i = 0; i < count && !wait_cancelled(); i++) {
        struct run_options o = {
            .scenario_path = scenarios[i],
            .source_root = source,
            .collector_template = tmpl,
            .fakes_binary = fakes_path,
            .report_root = report,
            .update_golden = update,
            .keep = keep,
            .term = stdout,
        };
        bool passed = false;
        if (run_scenario(&o, &passed, &err) < 0)
            status = 2;
        else if (!passed && status == 0)
            status = 1;
    }
    httpc_global_cleanup();
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "run"))
        return cmd_run(argc - 2, argv + 2);
    if (!strcmp(argv[1], "list"))
        return cmd_list(argc - 2, argv + 2);
    if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "otel-harness: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return 2;
}
