/*
 * main.c - `otel-fakes`: every fake backend and the control API in one process (DESIGN.md §4).
 *
 * Starts the servers, prints one JSON line with the chosen ports when every server listens
 * (`{"ready":true,"ports":{"prometheus":N,"loki":N,"tempo_http":N,"kubernetes":N,
 * "kubernetes_https":N,"tempo_grpc":N,"control":N},"kubernetes_admin_token":"..."}`),
 * then waits for SIGTERM or SIGINT and stops cleanly (exit 0). Bad flags: a message and exit 2;
 * a server that cannot listen: a message and exit 1.
 *
 * Threads: the main thread only parses flags and waits for a signal (sigwait, with the signals
 * blocked in every thread the servers start); the servers' threads belong to libmicrohttpd and,
 * for Tempo's gRPC front, to grpcd.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "error.h"
#include "fakes.h"
#include "log.h"

enum flag_id {
    FLAG_HOST = 1,
    FLAG_PROMETHEUS_PORT,
    FLAG_LOKI_PORT,
    FLAG_TEMPO_HTTP_PORT,
    FLAG_TEMPO_GRPC_PORT,
    FLAG_CONTROL_PORT,
    FLAG_KUBERNETES_PORT,
    FLAG_KUBERNETES_HTTPS_PORT,
    FLAG_LOKI_AUTH_ENABLED,
    FLAG_PROMETHEUS_OTLP_DISABLED,
    FLAG_DISCARD,
    FLAG_LOG_LEVEL,
    FLAG_HELP,
};

/* The one table of flags: getopt's options and --help are both made from it. */
struct flag {
    const char *name;
    const char *argument; /* NULL = no argument */
    enum flag_id id;
    const char *help;
};

static const struct flag flags[] = {
    {"host", "ADDR", FLAG_HOST,
     "address every server binds (default 127.0.0.1; 0.0.0.0 for all interfaces)"},
    {"prometheus-port", "N", FLAG_PROMETHEUS_PORT,
     "fake Prometheus (POST /api/v1/otlp/v1/metrics); default 0 = ephemeral"},
    {"loki-port", "N", FLAG_LOKI_PORT, "fake Loki (POST /otlp/v1/logs); default 0 = ephemeral"},
    {"tempo-http-port", "N", FLAG_TEMPO_HTTP_PORT,
     "fake Tempo OTLP/HTTP (POST /v1/traces); default 0 = ephemeral"},
    {"tempo-grpc-port", "N", FLAG_TEMPO_GRPC_PORT,
     "fake Tempo OTLP/gRPC (TraceService/Export, h2c); default 0 = ephemeral"},
    {"control-port", "N", FLAG_CONTROL_PORT, "control API; default 0 = ephemeral"},
    {"kubernetes-port", "N", FLAG_KUBERNETES_PORT,
     "fake Kubernetes API (plain HTTP; bearer tokens, RBAC, watches); default 0 = ephemeral"},
    {"kubernetes-https-port", "N", FLAG_KUBERNETES_HTTPS_PORT,
     "the same API over HTTPS (kubectl sends tokens only so), with a certificate made at start; "
     "its CA: GET /v1/tls/ca.crt on the control API; default 0 = ephemeral"},
    {"loki-auth-enabled", NULL, FLAG_LOKI_AUTH_ENABLED,
     "Loki requires X-Scope-OrgID (401 `no org id` without it), as Loki's own default; "
     "off: every push goes to tenant `fake`"},
    {"prometheus-otlp-disabled", NULL, FLAG_PROMETHEUS_OTLP_DISABLED,
     "Prometheus answers the OTLP path with 404, as without --web.enable-otlp-receiver"},
    {"discard", NULL, FLAG_DISCARD,
     "for benchmarks: Loki validates and answers as usual and GET /v1/stats counts the "
     "entries, but it keeps nothing (views stay empty, no cap on stored entries)"},
    {"log-level", "L", FLAG_LOG_LEVEL,
     "debug, info, warn or error (default info; logs go to "
     "stderr)"},
    {"help", NULL, FLAG_HELP, "show this help and exit"},
};

#define FLAG_COUNT (sizeof(flags) / sizeof(flags[0]))

static void print_help(FILE *out)
{
    fprintf(out, "Usage: otel-fakes [FLAGS]\n"
                 "\n"
                 "Fake Prometheus, Loki, Tempo and Kubernetes API backends plus a control API, in\n"
                 "one process. Prints one JSON line with the chosen ports on stdout when every\n"
                 "server listens:\n"
                 "  {\"ready\":true,\"ports\":{\"prometheus\":N,\"loki\":N,\"tempo_http\":N,"
                 "\"kubernetes\":N,\"kubernetes_https\":N,\"tempo_grpc\":N,\"control\":N},\n"
                 "   \"kubernetes_admin_token\":\"...\"}\n"
                 "and runs until SIGTERM or SIGINT.\n"
                 "\n"
                 "Flags:\n");
    for (size_t i = 0; i < FLAG_COUNT; i++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", flags[i].name, flags[i].argument ? " " : "",
                 flags[i].argument ? flags[i].argument : "");
        fprintf(out, "  %-28s %s\n", left, flags[i].help);
    }
    fprintf(out, "\n"
                 "Control API (JSON): GET /healthz, GET /v1/stats, GET /v1/received/{fake}"
                 "[?view=otlp],\n"
                 "DELETE /v1/received, GET /v1/requests/{fake}[?since=N],\n"
                 "PUT|GET|DELETE /v1/faults/{fake}, POST /v1/faults/{fake}/release,\n"
                 "POST /v1/k8s/objects, DELETE /v1/k8s/objects/{group|core}/{resource}/"
                 "{namespace|_}/{name},\n"
                 "GET|DELETE /v1/k8s/audit, POST /v1/k8s/tokens.\n"
                 "Fakes: prometheus, loki, tempo, kubernetes.\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "otel-fakes: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'otel-fakes --help'.\n");
    return 2;
}

static int parse_port(const char *text, int *out)
{
    char *end = NULL;
    errno = 0;
    long n = strtol(text, &end, 10);
    if (!text[0] || *end || errno || n < 0 || n > 65535)
        return -EINVAL;
    *out = (int)n;
    return 0;
}

/* Parses the flags into `cfg`. Returns 0, 1 for --help (already printed), or 2 (message
 * printed). */
static int parse_flags(int argc, char **argv, struct fakes_config *cfg)
{
    struct option options[FLAG_COUNT + 1];
    for (size_t i = 0; i < FLAG_COUNT; i++)
        options[i] =
            (struct option){flags[i].name, flags[i].argument ? required_argument : no_argument,
                            NULL, (int)flags[i].id};
    options[FLAG_COUNT] = (struct option){0};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":", options, NULL)) != -1) {
        int *port = NULL;
        switch (c) {
        case FLAG_HOST:
            if (!optarg[0])
                return usage_error("--host needs an address%s", "");
            cfg->host = optarg;
            break;
        case FLAG_PROMETHEUS_PORT: port = &cfg->prometheus_port; break;
        case FLAG_LOKI_PORT: port = &cfg->loki_port; break;
        case FLAG_TEMPO_HTTP_PORT: port = &cfg->tempo_http_port; break;
        case FLAG_TEMPO_GRPC_PORT: port = &cfg->tempo_grpc_port; break;
        case FLAG_CONTROL_PORT: port = &cfg->control_port; break;
        case FLAG_KUBERNETES_PORT: port = &cfg->kubernetes_port; break;
        case FLAG_KUBERNETES_HTTPS_PORT: port = &cfg->kubernetes_https_port; break;
        case FLAG_LOKI_AUTH_ENABLED: cfg->loki_auth_enabled = true; break;
        case FLAG_PROMETHEUS_OTLP_DISABLED: cfg->prometheus_otlp_enabled = false; break;
        case FLAG_DISCARD: cfg->discard = true; break;
        case FLAG_LOG_LEVEL: {
            enum log_level level;
            if (log_parse_level(optarg, &level) < 0)
                return usage_error("--log-level must be debug, info, warn or error, got '%s'",
                                   optarg);
            log_set_level(level);
            break;
        }
        case FLAG_HELP: print_help(stdout); return 1;
        case ':': return usage_error("%s needs a value", argv[optind - 1]);
        default: return usage_error("unknown flag '%s'", argv[optind - 1]);
        }
        if (port && parse_port(optarg, port) < 0)
            return usage_error("a port must be an integer from 0 to 65535, got '%s'", optarg);
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s' (otel-fakes takes only flags)", argv[optind]);
    return 0;
}

int main(int argc, char **argv)
{
    struct fakes_config cfg = {.prometheus_otlp_enabled = true};
    int rc = parse_flags(argc, argv, &cfg);
    if (rc == 1)
        return 0;
    if (rc)
        return rc;

    /* Block the stop signals before any server thread exists, so that every thread inherits
     * the mask and only sigwait below sees them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct error err = {0};
    struct fakes *fakes = fakes_new(&cfg, &err);
    if (!fakes || fakes_listen(fakes, &err) < 0) {
        fprintf(stderr, "otel-fakes: %s\n", err.message);
        fakes_free(fakes);
        return 1;
    }
    json_t *ready = fakes_ready_json(fakes);
    char *line = ready ? json_dumps(ready, JSON_COMPACT) : NULL;
    json_decref(ready);
    if (!line) {
        fprintf(stderr, "otel-fakes: out of memory\n");
        fakes_free(fakes);
        return 1;
    }
    printf("%s\n", line);
    fflush(stdout);
    free(line);

    int sig = 0;
    sigwait(&stop, &sig);
    log_info("fakes", "stopping on %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    fakes_free(fakes);
    return 0;
}
