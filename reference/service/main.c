/*
 * main.c - the otelcol-ref command line: run a collector, validate a config, list components.
 *
 * Mirrors the otelcol command of core@v0.144.0 (otelcol/command.go, flags.go,
 * command_validate.go, command_components.go, collector.go): `--config` (repeatable, merged in
 * order; a path or file:/env:/yaml: URI), `--set key=value` (repeatable), `validate` (exit 0 and
 * nothing listens, or `Error: ...` and exit 1), `components`, `--version`, and the startup and
 * shutdown log lines (`Everything is ready. Begin running and processing data.`). SIGTERM and
 * SIGINT shut the service down (receivers stop, batches flush, queues drain, bounded) and the
 * process exits 0. Configuration errors exit 1 before anything listens.
 *
 * Added here: `--log-level` (upstream sets it in service::telemetry::logs::level only; the flag
 * wins over the config). Deliberately not done: `--feature-gates` is accepted and ignored with a
 * warning; the `print-config`/`print-initial-config` commands.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "component.h"
#include "config.h"
#include "error.h"
#include "log.h"
#include "service.h"

#define OTELCOL_REF_VERSION "0.144.0"
#define MAX_FLAG_VALUES 64
#define SHUTDOWN_TIMEOUT_MS 25000 /* below Kubernetes' default 30s grace period */

struct command_line {
    const char *command; /* NULL (run), "validate", "components" */
    const char *configs[MAX_FLAG_VALUES];
    size_t config_count;
    const char *sets[MAX_FLAG_VALUES];
    size_t set_count;
    const char *log_level;
    bool version, help;
};

static void print_usage(FILE *out)
{
    fprintf(out,
            "otelcol-ref: the reference OpenTelemetry Collector of the conformance harness\n"
            "\n"
            "Usage:\n"
            "  otelcol-ref --config FILE [--set key=value]... [--log-level LEVEL]\n"
            "  otelcol-ref validate --config FILE [--set key=value]...\n"
            "  otelcol-ref components\n"
            "  otelcol-ref --version | --help\n"
            "\n"
            "Flags:\n"
            "  --config URI        config location: a file path, file:PATH, env:VAR or yaml:TEXT;\n"
            "                      repeatable, merged in order\n"
            "  --set key=value     override one config value (upstream syntax: "
            "processors.batch.timeout=2s);\n"
            "                      the value is YAML; repeatable\n"
            "  --log-level LEVEL   debug, info, warn or error (overrides "
            "service.telemetry.logs.level)\n"
            "  --feature-gates G   accepted for compatibility, ignored\n"
            "  --version           print the version\n"
            "  --help              print this help\n");
}

/* `--name=value` or `--name value`; *i advances past a separate value. NULL if not this flag. */
static const char *flag_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t n = strlen(name);
    const char *arg = argv[*i];
    if (strncmp(arg, name, n) != 0)
        return NULL;
    if (arg[n] == '=')
        return arg + n + 1;
    if (arg[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

static int parse_command_line(int argc, char **argv, struct command_line *cl, struct error *err)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool missing = false;
        const char *value;
        if (!strcmp(arg, "--version") || !strcmp(arg, "-v")) {
            cl->version = true;
        } else if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            cl->help = true;
        } else if ((value = flag_value(argc, argv, &i, "--config", &missing))) {
            if (cl->config_count == MAX_FLAG_VALUES)
                return error_set(err, -E2BIG, ERROR_PERMANENT, "too many --config flags");
            cl->configs[cl->config_count++] = value;
        } else if ((value = flag_value(argc, argv, &i, "--set", &missing))) {
            if (!strchr(value, '='))
                return error_set(err, -EINVAL, ERROR_PERMANENT,
                                 "invalid argument \"%s\" for \"--set\" flag: missing equal sign",
                                 value);
            if (cl->set_count == MAX_FLAG_VALUES)
                return error_set(err, -E2BIG, ERROR_PERMANENT, "too many --set flags");
            cl->sets[cl->set_count++] = value;
        } else if ((value = flag_value(argc, argv, &i, "--log-level", &missing))) {
            cl->log_level = value;
        } else if ((value = flag_value(argc, argv, &i, "--feature-gates", &missing))) {
            log_warn(NULL, "--feature-gates is ignored by otelcol-ref gates=%s", value);
        } else if (missing) {
            return error_set(err, -EINVAL, ERROR_PERMANENT, "flag needs an argument: %s", arg);
        } else if (arg[0] == '-') {
            return error_set(err, -EINVAL, ERROR_PERMANENT, "unknown flag: %s", arg);
        } else if (!cl->command && (!strcmp(arg, "validate") || !strcmp(arg, "components"))) {
            cl->command = arg;
        } else {
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "unknown command \"%s\" for \"otelcol-ref\"", arg);
        }
        if (missing)
            return error_set(err, -EINVAL, ERROR_PERMANENT, "flag needs an argument: %s", arg);
    }
    return 0;
}

static void print_signals(unsigned signals)
{
    bool first = true;
    for (int s = 0; s < SIGNAL_COUNT; s++) {
        if (signals & SIGNAL_BIT(s)) {
            printf("%s%s", first ? "" : ",", signal_name((enum signal)s));
            first = false;
        }
    }
}

/* `otelcol-ref components`: every component with its kind, signals, alias and options. */
static int list_components(void)
{
    printf("buildinfo:\n  command: otelcol-ref\n  version: %s\n", OTELCOL_REF_VERSION);
    static const enum component_kind kinds[] = {KIND_RECEIVER, KIND_PROCESSOR, KIND_EXPORTER,
                                                KIND_EXTENSION};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        printf("%s:\n", component_kind_section(kinds[k]));
        for (size_t i = 0; component_registry[i]; i++) {
            const struct component_descriptor *d = component_registry[i];
            if (d->kind != kinds[k])
                continue;
            printf("  - name: %s\n    signals: ", d->type);
            print_signals(d->signals);
            printf("\n");
            if (d->deprecated_alias)
                printf("    deprecated_alias: %s\n", d->deprecated_alias);
            printf("    summary: %s\n    options:\n", d->summary ? d->summary : "");
            if (d->options)
                options_describe(d->options, stdout, 6);
        }
    }
    return 0;
}

static int run_collector(const struct command_line *cl, const struct config *cfg,
                         const sigset_t *stop_signals)
{
    struct error err = {0};
    struct service *service = NULL;
    int exit_code = 1;
    log_info(NULL, "Setting up own telemetry...");
    log_info(NULL, "Starting otelcol-ref... Version=%s NumCPU=%ld", OTELCOL_REF_VERSION,
             sysconf(_SC_NPROCESSORS_ONLN));
    if (service_create(cfg, &service, &err) < 0) {
        fprintf(stderr, "Error: %s\n", err.message);
        goto done;
    }
    log_info(NULL, "Starting extensions...");
    if (service_start(service, &err) < 0) {
        fprintf(stderr, "Error: cannot start pipelines: %s\n", err.message);
        goto done;
    }
    log_info(NULL, "Everything is ready. Begin running and processing data.");
    int received = 0;
    if (sigwait(stop_signals, &received) != 0)
        received = SIGTERM;
    log_info(NULL, "Received signal from OS signal=%s",
             received == SIGINT ? "interrupt" : "terminated");
    log_info(NULL, "Starting shutdown...");
    service_shutdown(service, SHUTDOWN_TIMEOUT_MS);
    log_info(NULL, "Stopping extensions...");
    log_info(NULL, "Shutdown complete.");
    exit_code = 0;
done:
    service_destroy(service);
    return exit_code;
}

int main(int argc, char **argv)
{
    struct command_line cl = {0};
    struct error err = {0};
    struct config *cfg = NULL;
    int exit_code = 1;

    /* glibc gives each thread that mallocs under contention an arena of its own and keeps freed
     * memory in it; with one thread per connection plus the exporters' consumers that turned
     * ~17 MiB of live data into 24-32 MiB of RSS at 100k items/s (scripts/bench otlp-http
     * --rate 100000). Two arenas hold the contention down and the RSS near the live data, as
     * the Go collector's single heap does. MALLOC_ARENA_MAX in the environment still wins. */
    if (!getenv("MALLOC_ARENA_MAX"))
        mallopt(M_ARENA_MAX, 2);

    /* Block the stop signals before any thread exists, so every thread inherits the mask and
     * only sigwait() in this thread ever sees them. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client that hangs up must not kill the collector */

    if (parse_command_line(argc, argv, &cl, &err) < 0) {
        fprintf(stderr, "Error: %s\n", err.message);
        goto done;
    }
    if (cl.help) {
        print_usage(stdout);
        exit_code = 0;
        goto done;
    }
    if (cl.version) {
        printf("otelcol-ref version %s\n", OTELCOL_REF_VERSION);
        exit_code = 0;
        goto done;
    }
    if (cl.command && !strcmp(cl.command, "components")) {
        exit_code = list_components();
        goto done;
    }
    enum log_level level = LOG_INFO;
    if (cl.log_level && log_parse_level(cl.log_level, &level) < 0) {
        fprintf(stderr, "Error: invalid --log-level \"%s\" (debug, info, warn, error)\n",
                cl.log_level);
        goto done;
    }
    log_set_level(level);
    if (config_load(cl.configs, cl.config_count, cl.sets, cl.set_count, &cfg, &err) < 0) {
        fprintf(stderr, "Error: %s\n", err.message);
        goto done;
    }
    if (!cl.log_level && cfg->telemetry.log_level_set)
        log_set_level(cfg->telemetry.log_level);
    if (cl.command && !strcmp(cl.command, "validate")) {
        exit_code = 0;
        goto done;
    }
    exit_code = run_collector(&cl, cfg, &stop_signals);
done:
    config_free(cfg);
    return exit_code;
}
