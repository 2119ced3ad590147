/* collector.c - the collector process under test (see collector.h). */
#include "collector.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "httpc.h"
#include "ports.h"
#include "wait.h"

int collector_init(struct collector *c, const struct collector_options *o, struct error *err)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->log_path, sizeof(c->log_path), "%s", o->log_path);
    snprintf(c->cwd, sizeof(c->cwd), "%s", o->cwd);
    c->env = o->env;
    c->listen_ports = o->listen_ports;
    c->listen_count = o->listen_count;
    c->metrics_port = o->metrics_port;
    return template_expand(o->command_template, o->config_path, o->sets, o->set_count, &c->argv,
                           err);
}

static void append_marker(const struct collector *c)
{
    FILE *f = fopen(c->log_path, "a");
    if (!f)
        return;
    char command[2048];
    template_argv_format(&c->argv, command, sizeof(command));
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(f, "==== otel-harness: start %d of the collector at %s: %s\n", c->starts, stamp,
            command);
    fclose(f);
}

int collector_start(struct collector *c, struct error *err)
{
    c->starts++;
    append_marker(c);
    struct proc_spawn_options o = {
        .argv = c->argv.items, .cwd = c->cwd, .stdout_path = c->log_path, .env = c->env};
    return proc_spawn(&c->proc, "collector", &o, err);
}

bool collector_running(struct collector *c)
{
    return c->proc.pid > 0 && !proc_poll(&c->proc);
}

void collector_log_tail(const struct collector *c, char *buf, size_t max)
{
    buf[0] = '\0';
    int fd = open(c->log_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || max < 2)
        goto done;
    off_t end = lseek(fd, 0, SEEK_END);
    off_t start = end > (off_t)(max - 1) ? end - (off_t)(max - 1) : 0;
    ssize_t n = pread(fd, buf, max - 1, start);
    if (n < 0)
        n = 0;
    buf[n] = '\0';
    /* Trailing newlines off; the rest shown inline. */
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\n')
            buf[i] = '|';
done:
    if (fd >= 0)
        close(fd);
}

struct ready_ctx {
    struct collector *c;
};

static int ready_condition(void *ctx, char *seen, size_t seen_size, struct error *err)
{
    struct collector *c = ((struct ready_ctx *)ctx)->c;
    if (proc_poll(&c->proc)) {
        char status[64], tail[600];
        proc_describe_status(c->proc.status, status, sizeof(status));
        collector_log_tail(c, tail, sizeof(tail));
        return error_set(err, -ECHILD, ERROR_PERMANENT,
                         "the collector exited (%s) before it was ready; its log ends: %s", status,
                         tail);
    }
    size_t up = 0;
    size_t n = (size_t)snprintf(seen, seen_size, "not yet listening on");
    for (size_t i = 0; i < c->listen_count; i++) {
        if (ports_accepting(c->listen_ports[i]))
            up++;
        else if (n < seen_size)
            n += (size_t)snprintf(seen + n, seen_size - n, " %d", c->listen_ports[i]);
    }
    return up == c->listen_count ? 1 : 0;
}

int collector_wait_ready(struct collector *c, int64_t timeout_ms, struct error *err)
{
    struct ready_ctx ctx = {c};
    struct wait_spec spec = {.what = "the collector to listen on its receiver and metrics ports",
                             .timeout_ms = timeout_ms};
    return wait_until(&spec, ready_condition, &ctx, NULL, err);
}

int collector_stop(struct collector *c, int sig, int64_t timeout_ms, int *code, char *status_text,
                   size_t status_size, struct error *err)
{
    int rc = 0;
    *code = -1;
    if (c->proc.pid <= 0) {
        snprintf(status_text, status_size, "not running");
        return 0;
    }
    if (!proc_poll(&c->proc)) {
        proc_signal(&c->proc, sig);
        rc = proc_wait_exit(&c->proc, timeout_ms, err);
        if (rc == -ETIMEDOUT) {
            char t[32];
            wait_format_duration(timeout_ms, t, sizeof(t));
            error_set(err, rc, ERROR_PERMANENT,
                      "the collector did not exit within %s of SIG%s; killed it", t,
                      sig == SIGTERM   ? "TERM"
                      : sig == SIGKILL ? "KILL"
                                       : "NAL");
        }
        /* After a timeout (or a cancelled wait) make sure nothing is left. */
        proc_stop(&c->proc, SIGKILL, 2000);
    }
    proc_describe_status(c->proc.status, status_text, status_size);
    if (rc == 0)
        *code = proc_exit_code(&c->proc);
    c->proc.pid = 0;
    return rc;
}

int collector_scrape(struct collector *c, struct promtext *out, struct error *err)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", c->metrics_port);
    struct httpc_request req = {.method = "GET", .url = url, .timeout_ms = 10000};
    struct httpc_response resp;
    memset(out, 0, sizeof(*out));
    int rc = httpc_do(&req, &resp, err);
    if (rc == 0 && resp.status != 200)
        rc = error_set(err, -EIO, ERROR_PERMANENT, "GET %s answered %ld", url, resp.status);
    if (rc == 0)
        rc = promtext_parse((const char *)resp.body, resp.body_len, out, err);
    httpc_response_free(&resp);
    return rc;
}

void collector_destroy(struct collector *c)
{
    /* TERM first: a collector stopped early still gets to flush and log why it stopped. */
    proc_stop(&c->proc, SIGTERM, 5000);
    template_argv_free(&c->argv);
}
