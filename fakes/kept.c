/*
 * kept.c - the kept requests of kept.h: one allocation per request (header, backend index,
 * protobuf bytes), counted references so that a view can read outside its fake's lock while a
 * reset lets go, and a plain growable list in arrival order.
 */
#include "kept.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "otlp_json.h"

struct kept {
    atomic_uint refs;
    enum signal signal;
    struct payload *tree; /* a request without bytes, or NULL */
    uint8_t *protobuf;    /* inside this allocation, after the index */
    size_t len;
    size_t index_size;
    max_align_t index[]; /* index_size bytes, then the protobuf bytes */
};

/* The header and index of a kept request with room for `bytes` protobuf bytes after them,
 * nothing copied yet. One allocation for all three: a request costs one malloc. */
static struct kept *kept_alloc(enum signal signal, size_t bytes, size_t index_size)
{
    size_t index_room = (index_size + sizeof(max_align_t) - 1) / sizeof(max_align_t);
    size_t room = SIZE_MAX - sizeof(struct kept);
    if (bytes > room || index_room > (room - bytes) / sizeof(max_align_t))
        return NULL;
    struct kept *kept = malloc(sizeof(struct kept) + index_room * sizeof(max_align_t) + bytes);
    if (!kept)
        return NULL;
    atomic_init(&kept->refs, 1);
    kept->signal = signal;
    kept->tree = NULL;
    kept->protobuf = (uint8_t *)(kept->index + index_room);
    kept->len = 0;
    kept->index_size = index_size;
    memset(kept->index, 0, index_size);
    return kept;
}

struct kept *kept_new_bytes(enum signal signal, const uint8_t *protobuf, size_t len,
                            size_t index_size)
{
    struct kept *kept = kept_alloc(signal, len, index_size);
    if (kept && len) {
        memcpy(kept->protobuf, protobuf, len);
        kept->len = len;
    }
    return kept;
}

struct kept *kept_new(const struct payload *payload, const uint8_t *protobuf, size_t len,
                      size_t index_size)
{
    if (protobuf)
        return kept_new_bytes(payload->signal, protobuf, len, index_size);
    struct kept *kept = kept_alloc(payload->signal, 0, index_size);
    if (!kept)
        return NULL;
    kept->protobuf = NULL;
    kept->tree = payload_clone(payload);
    if (!kept->tree) {
        free(kept);
        return NULL;
    }
    return kept;
}

void *kept_index(struct kept *kept)
{
    return kept->index_size ? kept->index : NULL;
}

int kept_open(struct kept *kept, struct payload **out, struct error *err)
{
    if (kept->tree) {
        *out = kept->tree;
        return 0;
    }
    return payload_decode(kept->signal, kept->protobuf, kept->len, out, err);
}

void kept_close(struct kept *kept, struct payload *payload)
{
    if (payload != kept->tree)
        payload_free(payload);
}

struct kept *kept_ref(struct kept *kept)
{
    atomic_fetch_add_explicit(&kept->refs, 1, memory_order_relaxed);
    return kept;
}

void kept_unref(struct kept *kept)
{
    if (!kept || atomic_fetch_sub_explicit(&kept->refs, 1, memory_order_acq_rel) != 1)
        return;
    payload_free(kept->tree);
    free(kept);
}

int kept_list_append(struct kept_list *list, struct kept *kept)
{
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 64;
        struct kept **grown = realloc(list->items, cap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        list->items = grown;
        list->cap = cap;
    }
    list->items[list->count++] = kept;
    return 0;
}

int kept_list_snapshot(const struct kept_list *list, struct kept_list *out)
{
    *out = (struct kept_list){0};
    if (!list->count)
        return 0;
    out->items = malloc(list->count * sizeof(*out->items));
    if (!out->items)
        return -ENOMEM;
    for (size_t i = 0; i < list->count; i++)
        out->items[i] = kept_ref(list->items[i]);
    out->count = out->cap = list->count;
    return 0;
}

void kept_list_detach(struct kept_list *list, struct kept_list *out)
{
    *out = *list;
    *list = (struct kept_list){0};
}

void kept_list_clear(struct kept_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        kept_unref(list->items[i]);
    free(list->items);
    *list = (struct kept_list){0};
}

json_t *kept_list_otlp_json(const struct kept_list *list)
{
    json_t *all = json_array();
    for (size_t i = 0; all && i < list->count; i++) {
        struct payload *payload = NULL;
        if (kept_open(list->items[i], &payload, NULL) < 0) {
            json_decref(all);
            return NULL;
        }
        json_t *one = otlp_json_encode(payload->message);
        kept_close(list->items[i], payload);
        if (json_array_append_new(all, one)) {
            json_decref(all);
            return NULL;
        }
    }
    return all;
}
