/*
 * httpc.h - the harness's HTTP client (libcurl easy interface): OTLP requests to the collector,
 * the fakes' control API, the collector's /metrics.
 *
 * It sends exactly what it is told (method, Content-Type, Content-Encoding, body) and nothing
 * curl would add on its own (no default form Content-Type, no "Expect: 100-continue"), because
 * the bad-input scenarios depend on the exact request. Response bodies are bounded.
 */
#ifndef HARNESS_HTTPC_H
#define HARNESS_HTTPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define HTTPC_MAX_RESPONSE (64u * 1024 * 1024)

struct httpc_request {
    const char *method; /* "POST", "GET", "PUT", "DELETE" */
    const char *url;
    const char *content_type;     /* NULL = no Content-Type header at all */
    const char *content_encoding; /* NULL = none */
    const void *body;             /* may be NULL with body_len 0 */
    size_t body_len;
    long timeout_ms;          /* 0 = 30 s */
    const char *bearer_token; /* NULL = no Authorization header */
    const char *ca_file;      /* https: the CA to verify the server with (NULL = the system's) */
};

struct httpc_response {
    long status;
    char content_type[128];
    char retry_after[64];
    uint8_t *body; /* malloc'd, NUL-terminated (the NUL not counted); owned by the response */
    size_t body_len;
};

/* Call once from main before any request (curl_global_init), and httpc_global_cleanup at the
 * end. */
int httpc_global_init(struct error *err);
void httpc_global_cleanup(void);

/* Performs the request. A transport failure (refused, reset, timeout) is an error (-EIO with
 * curl's message); any HTTP status is a success of this call. Free `resp` with
 * httpc_response_free in every case. */
int httpc_do(const struct httpc_request *req, struct httpc_response *resp, struct error *err);
void httpc_response_free(struct httpc_response *resp);

/* GET `url` and parse the body as JSON. Non-2xx is an error naming the status and body start.
 * Caller owns *out. */
int httpc_get_json(const char *url, json_t **out, struct error *err);

/* Sends `body` (may be NULL) as JSON with `method`; non-2xx is an error. */
int httpc_send_json(const char *method, const char *url, const json_t *body, struct error *err);

/* `text` percent-encoded for a URL's query or path segment (curl_easy_escape). Caller frees;
 * NULL on ENOMEM. */
char *httpc_escape(const char *text);

#endif
