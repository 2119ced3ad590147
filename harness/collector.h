/*
 * collector.h - the collector under test as a child process: started from the --collector
 * template with the run's --set overrides, considered ready when every port it must listen on
 * accepts connections, scraped for self-metrics, stopped with SIGTERM (graceful) or SIGKILL.
 *
 * Its stdout and stderr go to one log file, appended across restarts with a marker line per
 * start, so the report's collector.log tells the whole story.
 */
#ifndef HARNESS_COLLECTOR_H
#define HARNESS_COLLECTOR_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "proc.h"
#include "promtext.h"
#include "template.h"

struct collector {
    struct proc proc;
    struct argv_list argv;
    char log_path[PATH_MAX];
    char cwd[PATH_MAX];
    char *const *env;
    const int *listen_ports;
    size_t listen_count;
    int metrics_port;
    int starts;
};

struct collector_options {
    const char *command_template;
    const char *config_path;
    char *const *sets;
    size_t set_count;
    char *const *env; /* NULL-terminated "K=V" */
    const char *log_path;
    const char *cwd;
    const int *listen_ports; /* borrowed; must outlive the collector */
    size_t listen_count;
    int metrics_port;
};

/* Expands the template (errors name what is wrong with it) and prepares; starts nothing. */
int collector_init(struct collector *c, const struct collector_options *o, struct error *err);
/* Starts one collector process. */
int collector_start(struct collector *c, struct error *err);
/* Waits until every listen port accepts connections; fails at once if the process exits
 * (the message quotes the end of its log). */
int collector_wait_ready(struct collector *c, int64_t timeout_ms, struct error *err);
/* True while the process runs. */
bool collector_running(struct collector *c);
/* Sends `sig` and waits up to `timeout_ms` for the exit, then SIGKILLs if needed. Returns 0 and
 * the exit code in *code (-1 if it did not exit by itself, i.e. was killed or timed out). */
int collector_stop(struct collector *c, int sig, int64_t timeout_ms, int *code, char *status_text,
                   size_t status_size, struct error *err);
/* Reads /metrics. Free *out with promtext_free. */
int collector_scrape(struct collector *c, struct promtext *out, struct error *err);
/* The last `max` bytes of the log, for messages, with newlines shown as " | ". */
void collector_log_tail(const struct collector *c, char *buf, size_t max);
/* Kills whatever still runs and frees the argv. Safe on a never-initialised (zeroed) struct. */
void collector_destroy(struct collector *c);

#endif
