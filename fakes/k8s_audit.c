/*
 * k8s_audit.c - the audit log of k8s_audit.h: a ring of prebuilt audit.k8s.io/v1 Events.
 *
 * Events are built outside the lock and never changed after, so a view hands out references
 * (jansson's reference counts are atomic, as the object store relies on too) instead of copies.
 */
#include "k8s_audit.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "fake_util.h"

struct k8s_audit {
    pthread_mutex_t mutex;
    json_t **ring; /* capacity slots; `count` events from `head` on */
    size_t capacity, head, count;
};

struct k8s_audit *k8s_audit_new(size_t capacity)
{
    struct k8s_audit *audit = calloc(1, sizeof(*audit));
    if (!audit)
        return NULL;
    audit->capacity = capacity ? capacity : K8S_AUDIT_DEFAULT_CAPACITY;
    audit->ring = calloc(audit->capacity, sizeof(*audit->ring));
    if (!audit->ring) {
        free(audit);
        return NULL;
    }
    pthread_mutex_init(&audit->mutex, NULL);
    return audit;
}

void k8s_audit_clear(struct k8s_audit *audit)
{
    pthread_mutex_lock(&audit->mutex);
    for (size_t i = 0; i < audit->count; i++) {
        size_t slot = (audit->head + i) % audit->capacity;
        json_decref(audit->ring[slot]);
        audit->ring[slot] = NULL;
    }
    audit->head = audit->count = 0;
    pthread_mutex_unlock(&audit->mutex);
}

void k8s_audit_free(struct k8s_audit *audit)
{
    if (!audit)
        return;
    k8s_audit_clear(audit);
    pthread_mutex_destroy(&audit->mutex);
    free(audit->ring);
    free(audit);
}

size_t k8s_audit_count(struct k8s_audit *audit)
{
    pthread_mutex_lock(&audit->mutex);
    size_t n = audit->count;
    pthread_mutex_unlock(&audit->mutex);
    return n;
}

/* RFC3339 with microseconds, as the audit backend writes metav1.MicroTime. */
static void micro_time(int64_t ns, char out[40])
{
    time_t seconds = (time_t)(ns / 1000000000);
    struct tm tm;
    if (!gmtime_r(&seconds, &tm)) {
        snprintf(out, 40, "1970-01-01T00:00:00.000000Z");
        return;
    }
    char date[24];
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%s.%06dZ", date, (int)((ns % 1000000000) / 1000));
}

/* A version 4 UUID for auditID; a failing getrandom leaves zeros, which only makes the ID less
 * unique, never the request fail. */
static void audit_id(char out[37])
{
    uint8_t b[16] = {0};
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        memset(b, 0, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

/* Sets `key` to a string made valid UTF-8 (URLs and selectors are the client's bytes). */
static int set_text(json_t *object, const char *key, const char *text)
{
    return fake_util_json_set(object, key, fake_util_json_string(text, text ? strlen(text) : 0));
}

static json_t *object_ref(const struct k8s_request_info *info)
{
    json_t *ref = json_object();
    int rc = !ref;
    rc = rc || set_text(ref, "resource", info->resource);
    if (info->namespace_[0])
        rc = rc || set_text(ref, "namespace", info->namespace_);
    if (info->name[0])
        rc = rc || set_text(ref, "name", info->name);
    if (info->group[0])
        rc = rc || set_text(ref, "apiGroup", info->group);
    rc = rc || set_text(ref, "apiVersion", info->version);
    if (info->subresource[0])
        rc = rc || set_text(ref, "subresource", info->subresource);
    if (rc) {
        json_decref(ref);
        return NULL;
    }
    return ref;
}

/* An authentication/v1 UserInfo: {username, groups}. NULL on ENOMEM. */
static json_t *user_info(const char *name, const char *const *groups, size_t count)
{
    json_t *user = json_object();
    json_t *list = json_array();
    int rc = !user || !list || set_text(user, "username", name ? name : "");
    for (size_t i = 0; !rc && i < count; i++)
        rc = json_array_append_new(list, fake_util_json_string(groups[i], strlen(groups[i])));
    if (!rc && count)
        rc = json_object_set(user, "groups", list);
    json_decref(list);
    if (rc) {
        json_decref(user);
        return NULL;
    }
    return user;
}

static json_t *build_event(const struct k8s_audit_record *r)
{
    char id[37], received[40], completed[40];
    audit_id(id);
    micro_time(r->received_ns, received);
    micro_time(fake_util_now_ns(), completed);
    json_t *event = json_object();
    json_t *user = user_info(r->user, r->groups, r->group_count);
    json_t *status = json_object();
    json_t *annotations = json_object();
    int rc = !event || !user || !status || !annotations;
    rc = rc || json_object_set_new(event, "kind", json_string("Event"));
    rc = rc || json_object_set_new(event, "apiVersion", json_string("audit.k8s.io/v1"));
    rc = rc || json_object_set_new(event, "level", json_string("Metadata"));
    rc = rc || json_object_set_new(event, "auditID", json_string(id));
    rc = rc || json_object_set_new(event, "stage", json_string("ResponseComplete"));
    rc = rc || set_text(event, "requestURI", r->request_uri);
    rc = rc || set_text(event, "verb", r->info ? r->info->verb : "");
    rc = rc || json_object_set(event, "user", user);
    if (!rc && r->impersonated_user) {
        json_t *as =
            user_info(r->impersonated_user, r->impersonated_groups, r->impersonated_group_count);
        rc = !as || json_object_set_new(event, "impersonatedUser", as);
    }
    if (r->user_agent)
        rc = rc || set_text(event, "userAgent", r->user_agent);
    if (r->info && r->info->resource_request)
        rc = rc || json_object_set_new(event, "objectRef", object_ref(r->info));
    rc = rc || json_object_set_new(status, "metadata", json_object());
    if (r->code >= 300) {
        rc = rc || json_object_set_new(status, "status", json_string("Failure"));
        if (r->status_message)
            rc = rc || set_text(status, "message", r->status_message);
        if (r->status_reason && r->status_reason[0])
            rc = rc || set_text(status, "reason", r->status_reason);
    }
    rc = rc || json_object_set_new(status, "code", json_integer(r->code));
    rc = rc || json_object_set(event, "responseStatus", status);
    rc = rc || json_object_set_new(event, "requestReceivedTimestamp", json_string(received));
    rc = rc || json_object_set_new(event, "stageTimestamp", json_string(completed));
    if (r->decision) {
        rc = rc || json_object_set_new(annotations, "authorization.k8s.io/decision",
                                       json_string(r->decision));
        rc = rc || set_text(annotations, "authorization.k8s.io/reason", r->reason ? r->reason : "");
        rc = rc || json_object_set(event, "annotations", annotations);
    }
    if (r->label_selector)
        rc = rc || set_text(event, "labelSelector", r->label_selector);
    if (r->field_selector)
        rc = rc || set_text(event, "fieldSelector", r->field_selector);
    if (!r->response_streamed)
        rc = rc || json_object_set_new(event, "responseBytes",
                                       json_integer((json_int_t)r->response_bytes));
    json_decref(user);
    json_decref(status);
    json_decref(annotations);
    if (rc) {
        json_decref(event);
        return NULL;
    }
    return event;
}

int k8s_audit_append(struct k8s_audit *audit, const struct k8s_audit_record *record)
{
    json_t *event = build_event(record);
    if (!event)
        return -ENOMEM;
    json_t *evicted = NULL;
    pthread_mutex_lock(&audit->mutex);
    if (audit->count == audit->capacity) {
        evicted = audit->ring[audit->head];
        audit->ring[audit->head] = event;
        audit->head = (audit->head + 1) % audit->capacity;
    } else {
        audit->ring[(audit->head + audit->count) % audit->capacity] = event;
        audit->count++;
    }
    pthread_mutex_unlock(&audit->mutex);
    json_decref(evicted);
    return 0;
}

json_t *k8s_audit_view(struct k8s_audit *audit)
{
    json_t *events = json_array();
    if (!events)
        return NULL;
    pthread_mutex_lock(&audit->mutex);
    int rc = 0;
    for (size_t i = 0; !rc && i < audit->count; i++)
        rc = json_array_append(events, audit->ring[(audit->head + i) % audit->capacity]);
    pthread_mutex_unlock(&audit->mutex);
    if (rc) {
        json_decref(events);
        return NULL;
    }
    return events;
}
