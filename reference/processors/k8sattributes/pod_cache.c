/*
 * pod_cache.c - the pod table of `k8sattributes`: pods and ReplicaSets as the informers would
 * deliver them (Kubernetes JSON objects), the keys each pod is stored under, and the deleted-pod
 * grace period.
 *
 * Mirrors contrib v0.143/v0.144 processor/k8sattributesprocessor/internal/kube/client.go
 * (podFromAPI, extractPodAttributes, getIdentifiersFromAssoc, addOrUpdatePod, forgetPod,
 * deleteLoopProcessing, GetPod, addOrUpdateReplicaSet, shouldIgnorePod):
 *   - keys: one per association rule whose sources all have a value for the pod (connection ->
 *     status.podIP unless hostNetwork; resource_attribute k8s.pod.ip / host.name -> status.podIP
 *     even for a hostNetwork pod, as the code does; k8s.pod.uid, k8s.pod.name,
 *     k8s.namespace.name; any other name -> the pod's extracted attribute), then always the
 *     k8s.pod.uid key, and unless hostNetwork or no IP the connection key and the k8s.pod.ip
 *     key. A container.id source is not supported here (no container statuses yet): such a rule
 *     gives no key.
 *   - a key held by another pod is replaced unless the new pod's status.startTime is earlier
 *     (a missing startTime never counts as earlier, as metav1.Time.Before on nil).
 *   - attributes are computed when the pod is stored: k8s.pod.start_time is
 *     metadata.creationTimestamp in RFC 3339 (printed in UTC; upstream prints the collector's
 *     local zone, UTC in a container); the deployment name comes from the cached ReplicaSet's
 *     controller ownerReference of kind Deployment, or with deployment_name_from_replicaset
 *     from the ReplicaSet name minus a final -[a-z0-9]{10}; cronjob name = job name minus a
 *     final -<digits> (`^(.*)-\d+$`). A ReplicaSet cached after the pod does not change it until
 *     the pod's next update, as upstream.
 *   - excluded pods (exclude.pods patterns, or the ignore annotation "true" after trim and
 *     lower-casing) are stored but never found, and do not count as a miss.
 *   - delete: the pod's keys still held by the same uid are queued with the clock's time; a
 *     sweep (upstream: every 30 s) drops those older than 120 s whose key still holds that uid.
 * Not here yet: namespace/node/deployment/statefulset/daemonset/job objects and their labels,
 * container statuses (container.id, repo digests), k8s.cluster.uid, k8s.node.uid,
 * k8s.cronjob.uid, service.* attributes. Pod labels/annotations are extracted (from: pod).
 *
 * One mutex guards the tables and the delete queue; it is held while a pod is built and
 * stored (in memory only) and never while a caller writes attributes: readers take a reference.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "k8sattributes.h"

/* ---- a small string-keyed hash table ---- */

struct entry {
    char *key;
    void *value;
    struct entry *next;
};

struct table {
    struct entry **buckets;
    size_t bucket_count, count;
    void (*free_value)(void *value);
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static struct entry **table_slot(const struct table *t, const char *key)
{
    struct entry **e = &t->buckets[hash(key) % t->bucket_count];
    while (*e && strcmp((*e)->key, key))
        e = &(*e)->next;
    return e;
}

static void *table_get(const struct table *t, const char *key)
{
    if (!t->buckets)
        return NULL;
    struct entry *e = *table_slot(t, key);
    return e ? e->value : NULL;
}

static int table_grow(struct table *t)
{
    size_t n = t->bucket_count ? t->bucket_count * 2 : 64;
    struct entry **buckets = calloc(n, sizeof(*buckets));
    if (!buckets)
        return -ENOMEM;
    for (size_t i = 0; i < t->bucket_count; i++)
        for (struct entry *e = t->buckets[i], *next; e; e = next) {
            next = e->next;
            size_t b = hash(e->key) % n;
            e->next = buckets[b];
            buckets[b] = e;
        }
    free(t->buckets);
    t->buckets = buckets;
    t->bucket_count = n;
    return 0;
}

/* Stores value under key, freeing a value it replaces. On failure the value is not taken. */
static int table_put(struct table *t, const char *key, void *value)
{
    if (!t->buckets || t->count >= t->bucket_count) {
        if (t->count >= K8S_POD_CACHE_KEYS_MAX)
            return -E2BIG;
        if (table_grow(t) < 0)
            return -ENOMEM;
    }
    struct entry **slot = table_slot(t, key);
    if (*slot) {
        t->free_value((*slot)->value);
        (*slot)->value = value;
        return 0;
    }
    struct entry *e = calloc(1, sizeof(*e));
    if (!e || !(e->key = strdup(key))) {
        free(e);
        return -ENOMEM;
    }
    e->value = value;
    *slot = e;
    t->count++;
    return 0;
}

static void table_remove(struct table *t, const char *key)
{
    if (!t->buckets)
        return;
    struct entry **slot = table_slot(t, key);
    struct entry *e = *slot;
    if (!e)
        return;
    *slot = e->next;
    t->free_value(e->value);
    free(e->key);
    free(e);
    t->count--;
}

static void table_clear(struct table *t)
{
    for (size_t i = 0; i < t->bucket_count; i++)
        for (struct entry *e = t->buckets[i], *next; e; e = next) {
            next = e->next;
            t->free_value(e->value);
            free(e->key);
            free(e);
        }
    free(t->buckets);
    t->buckets = NULL;
    t->bucket_count = t->count = 0;
}

/* ---- pods ---- */

struct replicaset {
    char *name, *uid, *deployment_name, *deployment_uid;
};

struct delete_request {
    char *key, *uid;
    int64_t at_ns;
};

struct k8s_pod_cache {
    const struct k8sattributes_rules *rules;
    k8s_clock_fn clock;
    void *clock_ctx;
    pthread_mutex_t lock;
    /* --- guarded by lock --- */
    struct table pods;        /* identifier key -> struct k8s_pod (one reference each) */
    struct table replicasets; /* uid -> struct replicaset */
    struct delete_request *deletes;
    size_t delete_count, delete_capacity;
};

void k8s_pod_release(struct k8s_pod *pod)
{
    if (!pod || __atomic_sub_fetch(&pod->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    free(pod->name);
    free(pod->namespace);
    free(pod->uid);
    free(pod->node_name);
    free(pod->address);
    for (size_t i = 0; i < pod->attribute_count; i++) {
        free(pod->attributes[i].key);
        free(pod->attributes[i].value);
    }
    free(pod->attributes);
    for (size_t i = 0; i < pod->container_count; i++) {
        free(pod->containers[i].name);
        free(pod->containers[i].image_name);
        free(pod->containers[i].image_tag);
    }
    free(pod->containers);
    free(pod);
}

static void release_value(void *value)
{
    k8s_pod_release(value);
}

static void free_replicaset(void *value)
{
    struct replicaset *rs = value;
    if (!rs)
        return;
    free(rs->name);
    free(rs->uid);
    free(rs->deployment_name);
    free(rs->deployment_uid);
    free(rs);
}

const char *k8s_pod_attribute(const struct k8s_pod *pod, const char *key)
{
    for (size_t i = 0; i < pod->attribute_count; i++)
        if (!strcmp(pod->attributes[i].key, key))
            return pod->attributes[i].value;
    return NULL;
}

static int64_t monotonic_ns(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct k8s_pod_cache *k8s_pod_cache_new(const struct k8sattributes_rules *rules, k8s_clock_fn clock,
                                        void *clock_ctx)
{
    struct k8s_pod_cache *cache = calloc(1, sizeof(*cache));
    if (!cache)
        return NULL;
    if (pthread_mutex_init(&cache->lock, NULL) != 0) {
        free(cache);
        return NULL;
    }
    cache->rules = rules;
    cache->clock = clock ? clock : monotonic_ns;
    cache->clock_ctx = clock_ctx;
    cache->pods.free_value = release_value;
    cache->replicasets.free_value = free_replicaset;
    return cache;
}

void k8s_pod_cache_free(struct k8s_pod_cache *cache)
{
    if (!cache)
        return;
    table_clear(&cache->pods);
    table_clear(&cache->replicasets);
    for (size_t i = 0; i < cache->delete_count; i++) {
        free(cache->deletes[i].key);
        free(cache->deletes[i].uid);
    }
    free(cache->deletes);
    pthread_mutex_destroy(&cache->lock);
    free(cache);
}

/* ---- reading Kubernetes JSON ---- */

static const char *json_str(const json_t *object, const char *path)
{
    /* "a.b.c" through nested objects */
    char part[64];
    const json_t *v = object;
    while (v && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof(part))
            return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        v = json_object_get(v, part);
        path += n + (dot ? 1 : 0);
    }
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool days_valid(int y, int m, int d)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m >= 1 && m <= 12 && d >= 1 && d <= days[m - 1] + (m == 2 && leap);
}

/* time.Parse(time.RFC3339, s) into Unix nanoseconds. */
static int parse_rfc3339(const char *s, int64_t *out_ns)
{
    int y, mo, d, h, mi, se, n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || n != 19 ||
        !days_valid(y, mo, d) || h > 23 || mi > 59 || se > 59)
        return -EINVAL;
    s += n;
    int64_t frac = 0;
    if (*s == '.') {
        int digits = 0;
        for (s++; isdigit((unsigned char)*s); s++, digits++)
            if (digits < 9)
                frac = frac * 10 + (*s - '0');
        if (digits == 0)
            return -EINVAL;
        for (; digits < 9; digits++)
            frac *= 10;
    }
    int offset = 0;
    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        int oh, om, m = 0;
        if (sscanf(s + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5)
            return -EINVAL;
        offset = (oh * 60 + om) * 60 * (*s == '-' ? -1 : 1);
        s += 6;
    } else {
        return -EINVAL;
    }
    if (*s)
        return -EINVAL;
    /* days from civil (Howard Hinnant) */
    int yy = mo <= 2 ? y - 1 : y;
    int era = (yy >= 0 ? yy : yy - 399) / 400;
    int yoe = yy - era * 400;
    int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = (int64_t)era * 146097 + doe - 719468;
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - offset;
    *out_ns = secs * 1000000000LL + frac;
    return 0;
}

/* time.Time.MarshalText (RFC3339Nano) in UTC. */
static void format_rfc3339(int64_t ns, char *buf, size_t size)
{
    time_t secs = (time_t)(ns >= 0 ? ns / 1000000000LL : (ns - 999999999LL) / 1000000000LL);
    int64_t frac = ns - (int64_t)secs * 1000000000LL;
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac) {
        char digits[16];
        snprintf(digits, sizeof(digits), "%09lld", (long long)frac);
        size_t len = 9;
        while (digits[len - 1] == '0')
            len--;
        n += (size_t)snprintf(buf + n, size - n, ".%.*s", (int)len, digits);
    }
    snprintf(buf + n, size - n, "Z");
}

/* ---- building a pod ---- */

static int add_attribute(struct k8s_pod *pod, size_t *capacity, const char *key, const char *value)
{
    /* tags[key] = value: a later rule for the same key overwrites */
    for (size_t i = 0; i < pod->attribute_count; i++)
        if (!strcmp(pod->attributes[i].key, key)) {
            char *copy = strdup(value);
            if (!copy)
                return -ENOMEM;
            free(pod->attributes[i].value);
            pod->attributes[i].value = copy;
            return 0;
        }
    if (pod->attribute_count == *capacity) {
        size_t n = *capacity ? *capacity * 2 : 16;
        struct k8s_attribute *grown = realloc(pod->attributes, n * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        pod->attributes = grown;
        *capacity = n;
    }
    struct k8s_attribute *a = &pod->attributes[pod->attribute_count];
    a->key = strdup(key);
    a->value = strdup(value);
    if (!a->key || !a->value) {
        free(a->key);
        free(a->value);
        return -ENOMEM;
    }
    pod->attribute_count++;
    return 0;
}

static bool is_lower_alnum(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i])))
            return false;
    return true;
}

/* extractDeploymentNameFromReplicaSet: "" unless the name ends in -[a-z0-9]{10}. */
static size_t deployment_name_length(const char *rs)
{
    const char *dash = strrchr(rs, '-');
    if (!dash || strlen(dash + 1) != 10 || !is_lower_alnum(dash + 1, 10))
        return 0;
    return (size_t)(dash - rs);
}

/* cronJobRegex `^(.*)-\d+$`: the length of the cronjob name, -1 = no match. */
static long cronjob_name_length(const char *job)
{
    size_t n = strlen(job), digits = 0;
    while (digits < n && isdigit((unsigned char)job[n - 1 - digits]))
        digits++;
    if (digits == 0 || digits == n || job[n - 1 - digits] != '-')
        return -1;
    return (long)(n - digits - 1); /* (.*) may be empty: "-123" gives "" */
}

/* Go's Regexp.ExpandString of `template` for the match of `subject` in `match`. */
static void expand(const char *template, const char *subject, pcre2_code *re,
                   pcre2_match_data *match, char *out, size_t size)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(match);
    uint32_t pairs = pcre2_get_ovector_count(match);
    size_t n = 0;
    out[0] = '\0';
    for (const char *t = template; *t && n + 1 < size;) {
        if (*t != '$') {
            out[n++] = *t++;
            continue;
        }
        t++;
        if (*t == '$') {
            out[n++] = *t++;
            continue;
        }
        char name[64];
        size_t len = 0;
        bool braced = *t == '{';
        const char *p = t + braced;
        while ((isalnum((unsigned char)*p) || *p == '_') && len + 1 < sizeof(name))
            name[len++] = *p++;
        name[len] = '\0';
        if (len == 0 || (braced && *p != '}')) {
            out[n++] = '$'; /* not a reference: kept as written */
            continue;
        }
        t = p + braced;
        long group = -1;
        char *end;
        long number = strtol(name, &end, 10);
        if (*end == '\0')
            group = number;
        else
            group = pcre2_substring_number_from_name(re, (PCRE2_SPTR)name);
        if (group >= 0 && (uint32_t)group < pairs && ov[2 * group] != PCRE2_UNSET) {
            size_t from = ov[2 * group], to = ov[2 * group + 1];
            for (size_t i = from; i < to && n + 1 < size; i++)
                out[n++] = subject[i];
        }
    }
    out[n] = '\0';
}

/* extractFromMetadata for one rule over labels or annotations (`map`, a JSON object). */
static int extract_field_rule(const struct k8s_field_rule *rule, const json_t *map,
                              struct k8s_pod *pod, size_t *capacity)
{
    if (!json_is_object(map))
        return 0;
    if (!rule->key_regex) {
        json_t *value = json_object_get(map, rule->key);
        if (json_is_string(value))
            return add_attribute(pod, capacity, rule->tag_name, json_string_value(value));
        return 0;
    }
    pcre2_match_data *match = pcre2_match_data_create_from_pattern(rule->key_regex, NULL);
    if (!match)
        return -ENOMEM;
    int rc = 0;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)map, key, value)
    {
        if (!json_is_string(value) || pcre2_match(rule->key_regex, (PCRE2_SPTR)key,
                                                  PCRE2_ZERO_TERMINATED, 0, 0, match, NULL) < 0)
            continue;
        char name[512];
        if (rule->tag_name)
            expand(rule->tag_name, key, rule->key_regex, match, name, sizeof(name));
        else
            snprintf(name, sizeof(name), "k8s.pod.%s.%s",
                     rule->annotation ? "annotations" : "labels", key);
        if ((rc = add_attribute(pod, capacity, name, json_string_value(value))) < 0)
            break;
    }
    pcre2_match_data_free(match);
    return rc;
}

/* docker.ParseImageName, approximated: repository = the image without tag and digest, tag =
 * the text after the last ':' of the last path segment, "latest" when there is none. */
static int parse_image(const char *image, struct k8s_container *c)
{
    if (!image || !image[0])
        return 0;
    size_t n = strcspn(image, "@");
    const char *slash = strrchr(image, '/');
    const char *colon = NULL;
    for (const char *p = slash ? slash : image; p < image + n; p++)
        if (*p == ':')
            colon = p;
    size_t repo_len = colon ? (size_t)(colon - image) : n;
    c->image_name = strndup(image, repo_len);
    c->image_tag = colon ? strndup(colon + 1, n - repo_len - 1) : strdup("latest");
    return c->image_name && c->image_tag ? 0 : -ENOMEM;
}

static int extract_containers(const struct k8sattributes_rules *rules, const json_t *spec,
                              struct k8s_pod *pod)
{
    if (!rules->fields[K8S_FIELD_CONTAINER_NAME] &&
        !rules->fields[K8S_FIELD_CONTAINER_IMAGE_NAME] &&
        !rules->fields[K8S_FIELD_CONTAINER_IMAGE_TAG])
        return 0;
    const json_t *lists[] = {json_object_get(spec, "containers"),
                             json_object_get(spec, "initContainers")};
    size_t total = json_array_size(lists[0]) + json_array_size(lists[1]);
    if (total == 0)
        return 0;
    if (!(pod->containers = calloc(total, sizeof(*pod->containers))))
        return -ENOMEM;
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *item;
        json_array_foreach((json_t *)lists[l], i, item)
        {
            struct k8s_container *c = &pod->containers[pod->container_count++];
            const char *name = json_str(item, "name");
            if (!(c->name = strdup(name ? name : "")))
                return -ENOMEM;
            if ((rules->fields[K8S_FIELD_CONTAINER_IMAGE_NAME] ||
                 rules->fields[K8S_FIELD_CONTAINER_IMAGE_TAG]) &&
                parse_image(json_str(item, "image"), c) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}

static bool should_ignore(const struct k8sattributes_rules *rules, const json_t *pod,
                          const char *name)
{
    /* the key holds dots: looked up directly, not through json_str's path */
    json_t *v = json_object_get(json_object_get(json_object_get(pod, "metadata"), "annotations"),
                                K8S_IGNORE_ANNOTATION);
    const char *ignore = json_is_string(v) ? json_string_value(v) : NULL;
    if (ignore) {
        while (isspace((unsigned char)*ignore))
            ignore++;
        size_t n = strlen(ignore);
        while (n > 0 && isspace((unsigned char)ignore[n - 1]))
            n--;
        if (n == 4 && !strncasecmp(ignore, "true", 4))
            return true;
    }
    pcre2_match_data *match = NULL;
    bool excluded = false;
    for (size_t i = 0; i < rules->exclude_count && !excluded; i++) {
        if (!match && !(match = pcre2_match_data_create(1, NULL)))
            break;
        excluded = pcre2_match(rules->exclude_pods[i], (PCRE2_SPTR)name, PCRE2_ZERO_TERMINATED, 0,
                               0, match, NULL) >= 0;
    }
    pcre2_match_data_free(match);
    return excluded;
}

static int dup_field(char **out, const char *s)
{
    *out = strdup(s ? s : "");
    return *out ? 0 : -ENOMEM;
}

/* podFromAPI + extractPodAttributes. Called with the cache lock held (reads replicasets). */
static int pod_from_api(struct k8s_pod_cache *cache, const json_t *object, struct k8s_pod **out)
{
    const struct k8sattributes_rules *r = cache->rules;
    const json_t *meta = json_object_get(object, "metadata");
    const json_t *spec = json_object_get(object, "spec");
    const json_t *status = json_object_get(object, "status");
    struct k8s_pod *pod = calloc(1, sizeof(*pod));
    size_t capacity = 0;
    int rc = -ENOMEM;
    if (!pod)
        return -ENOMEM;
    pod->refs = 1;
    if (dup_field(&pod->name, json_str(meta, "name")) < 0 ||
        dup_field(&pod->namespace, json_str(meta, "namespace")) < 0 ||
        dup_field(&pod->uid, json_str(meta, "uid")) < 0 ||
        dup_field(&pod->node_name, json_str(spec, "nodeName")) < 0 ||
        dup_field(&pod->address, json_str(status, "podIP")) < 0)
        goto fail;
    pod->host_network = json_is_true(json_object_get(spec, "hostNetwork"));
    const char *start = json_str(status, "startTime");
    pod->has_start_time = start && parse_rfc3339(start, &pod->start_time_ns) == 0;
    if (should_ignore(r, object, pod->name)) {
        pod->ignore = true;
        *out = pod;
        return 0;
    }
#define PUT(field, value)                                                                          \
    do {                                                                                           \
        if (r->fields[field] &&                                                                    \
            (rc = add_attribute(pod, &capacity, k8s_field_name(field), value)) < 0)                \
            goto fail;                                                                             \
    } while (0)
    PUT(K8S_FIELD_POD_NAME, pod->name);
    const char *hostname = json_str(spec, "hostname");
    PUT(K8S_FIELD_POD_HOSTNAME, hostname ? hostname : "");
    PUT(K8S_FIELD_POD_IP, pod->address);
    PUT(K8S_FIELD_NAMESPACE_NAME, pod->namespace);
    const char *created = json_str(meta, "creationTimestamp");
    int64_t created_ns;
    if (created && parse_rfc3339(created, &created_ns) == 0) {
        char text[48];
        format_rfc3339(created_ns, text, sizeof(text));
        PUT(K8S_FIELD_POD_START_TIME, text);
    }
    PUT(K8S_FIELD_POD_UID, pod->uid);
    size_t i;
    json_t *ref;
    json_array_foreach(json_object_get(meta, "ownerReferences"), i, ref)
    {
        const char *kind = json_str(ref, "kind"), *name = json_str(ref, "name");
        const char *uid = json_str(ref, "uid");
        name = name ? name : "";
        uid = uid ? uid : "";
        if (!kind)
            continue;
        if (!strcmp(kind, "ReplicaSet")) {
            PUT(K8S_FIELD_REPLICASET_UID, uid);
            PUT(K8S_FIELD_REPLICASET_NAME, name);
            const struct replicaset *rs = table_get(&cache->replicasets, uid);
            if (r->fields[K8S_FIELD_DEPLOYMENT_NAME]) {
                char deployment[512] = "";
                if (r->deployment_name_from_replicaset)
                    snprintf(deployment, sizeof(deployment), "%.*s",
                             (int)deployment_name_length(name), name);
                else if (rs && rs->deployment_name)
                    snprintf(deployment, sizeof(deployment), "%s", rs->deployment_name);
                if (deployment[0])
                    PUT(K8S_FIELD_DEPLOYMENT_NAME, deployment);
            }
            if (rs && rs->deployment_uid && rs->deployment_uid[0])
                PUT(K8S_FIELD_DEPLOYMENT_UID, rs->deployment_uid);
        } else if (!strcmp(kind, "DaemonSet")) {
            PUT(K8S_FIELD_DAEMONSET_UID, uid);
            PUT(K8S_FIELD_DAEMONSET_NAME, name);
        } else if (!strcmp(kind, "StatefulSet")) {
            PUT(K8S_FIELD_STATEFULSET_UID, uid);
            PUT(K8S_FIELD_STATEFULSET_NAME, name);
        } else if (!strcmp(kind, "Job")) {
            PUT(K8S_FIELD_JOB_UID, uid);
            PUT(K8S_FIELD_JOB_NAME, name);
            long n = cronjob_name_length(name);
            if (n >= 0) {
                char cronjob[512];
                snprintf(cronjob, sizeof(cronjob), "%.*s", (int)n, name);
                PUT(K8S_FIELD_CRONJOB_NAME, cronjob);
            }
        }
    }
    PUT(K8S_FIELD_NODE_NAME, pod->node_name);
#undef PUT
    for (size_t k = 0; k < r->field_rule_count; k++) {
        const struct k8s_field_rule *rule = &r->field_rules[k];
        if (rule->from != K8S_META_POD)
            continue; /* namespace/node/... objects come with their informers */
        if ((rc = extract_field_rule(
                 rule, json_object_get(meta, rule->annotation ? "annotations" : "labels"), pod,
                 &capacity)) < 0)
            goto fail;
    }
    if ((rc = extract_containers(r, spec, pod)) < 0)
        goto fail;
    *out = pod;
    return 0;
fail:
    k8s_pod_release(pod);
    return rc;
}

/* ---- identifiers ---- */

#define KEY_MAX 2048

/* The table key of an identifier: from, name and value of the four slots. -E2BIG if too long. */
static int key_of(const struct k8s_pod_identifier *id, char *buf, size_t size)
{
    size_t n = 0;
    for (int i = 0; i < K8S_ASSOCIATION_SOURCES_MAX; i++) {
        int w = snprintf(buf + n, size - n, "%d\x1f%s\x1f%s\x1e", (int)id->slots[i].from,
                         id->slots[i].name ? id->slots[i].name : "",
                         id->slots[i].value ? id->slots[i].value : "");
        if (w < 0 || (size_t)w >= size - n)
            return -E2BIG;
        n += (size_t)w;
    }
    return 0;
}

#define IDS_MAX (K8S_RULES_MAX + 3)

/* getIdentifiersFromAssoc. Values borrow from `pod`. Returns the count. */
static size_t identifiers_of(const struct k8sattributes_rules *r, const struct k8s_pod *pod,
                             struct k8s_pod_identifier *ids)
{
    size_t n = 0;
    for (size_t a = 0; a < r->association_count; a++) {
        const struct k8s_association *assoc = &r->associations[a];
        struct k8s_pod_identifier id = {0};
        bool skip = false;
        for (size_t s = 0; s < assoc->count && !skip; s++) {
            const struct k8s_association_source *src = &assoc->sources[s];
            const char *value = NULL;
            if (src->from == K8S_FROM_CONNECTION) {
                if (!pod->address[0] || pod->host_network)
                    skip = true;
                value = pod->address;
            } else if (src->from == K8S_FROM_RESOURCE_ATTRIBUTE) {
                const char *name = src->name;
                if (!strcmp(name, "k8s.namespace.name"))
                    value = pod->namespace;
                else if (!strcmp(name, "k8s.pod.name"))
                    value = pod->name;
                else if (!strcmp(name, "k8s.pod.uid"))
                    value = pod->uid;
                else if (!strcmp(name, "host.name") || !strcmp(name, "k8s.pod.ip"))
                    value = pod->address;
                else if (!strcmp(name, "container.id"))
                    value = NULL; /* one key per container id upstream; none known here */
                else
                    value = k8s_pod_attribute(pod, name);
                if (!value || !value[0])
                    skip = true;
            } else {
                continue; /* unknown `from`: the slot stays empty, as upstream */
            }
            id.slots[s].from = src->from;
            id.slots[s].name = src->name;
            id.slots[s].value = value;
        }
        if (!skip)
            ids[n++] = id;
    }
    if (pod->uid[0]) {
        struct k8s_pod_identifier id = {0};
        id.slots[0].from = K8S_FROM_RESOURCE_ATTRIBUTE;
        id.slots[0].name = "k8s.pod.uid";
        id.slots[0].value = pod->uid;
        ids[n++] = id;
    }
    if (pod->address[0] && !pod->host_network) {
        struct k8s_pod_identifier id = {0};
        id.slots[0].from = K8S_FROM_CONNECTION;
        id.slots[0].name = "";
        id.slots[0].value = pod->address;
        ids[n++] = id;
        id.slots[0].from = K8S_FROM_RESOURCE_ATTRIBUTE;
        id.slots[0].name = "k8s.pod.ip";
        ids[n++] = id;
    }
    return n;
}

int k8s_pod_cache_upsert_pod(struct k8s_pod_cache *cache, const json_t *object, struct error *err)
{
    if (!json_is_object(object))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "pod: expected an object");
    struct k8s_pod_identifier *ids = calloc(IDS_MAX, sizeof(*ids));
    char *key = malloc(KEY_MAX);
    struct k8s_pod *pod = NULL;
    int rc = -ENOMEM;
    if (!ids || !key)
        goto fail;
    pthread_mutex_lock(&cache->lock);
    rc = pod_from_api(cache, object, &pod);
    size_t n = rc == 0 ? identifiers_of(cache->rules, pod, ids) : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if ((rc = key_of(&ids[i], key, KEY_MAX)) < 0)
            break;
        const struct k8s_pod *held = table_get(&cache->pods, key);
        if (held && pod->has_start_time && held->has_start_time &&
            pod->start_time_ns < held->start_time_ns)
            continue; /* an update of an older pod that lost its IP to a newer one */
        __atomic_add_fetch(&pod->refs, 1, __ATOMIC_ACQ_REL);
        if ((rc = table_put(&cache->pods, key, pod)) < 0)
            __atomic_sub_fetch(&pod->refs, 1, __ATOMIC_ACQ_REL);
    }
    pthread_mutex_unlock(&cache->lock);
fail:
    k8s_pod_release(pod);
    free(ids);
    free(key);
    if (rc < 0)
        return error_set(err, rc, ERROR_PERMANENT, "%s",
                         rc == -E2BIG ? "pod table full" : "out of memory storing a pod");
    return 0;
}

int k8s_pod_cache_delete_pod(struct k8s_pod_cache *cache, const json_t *object, struct error *err)
{
    if (!json_is_object(object))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "pod: expected an object");
    struct k8s_pod_identifier *ids = calloc(IDS_MAX, sizeof(*ids));
    char *key = malloc(KEY_MAX);
    struct k8s_pod *pod = NULL;
    int rc = -ENOMEM;
    if (!ids || !key)
        goto fail;
    pthread_mutex_lock(&cache->lock);
    rc = pod_from_api(cache, object, &pod);
    size_t n = rc == 0 ? identifiers_of(cache->rules, pod, ids) : 0;
    int64_t now = cache->clock(cache->clock_ctx);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if ((rc = key_of(&ids[i], key, KEY_MAX)) < 0)
            break;
        const struct k8s_pod *held = table_get(&cache->pods, key);
        if (!held || strcmp(held->uid, pod->uid))
            continue;
        if (cache->delete_count == cache->delete_capacity) {
            size_t cap = cache->delete_capacity ? cache->delete_capacity * 2 : 16;
            struct delete_request *grown;
            if (cap > K8S_POD_CACHE_KEYS_MAX) {
                rc = -E2BIG;
                break;
            }
            if (!(grown = realloc(cache->deletes, cap * sizeof(*grown)))) {
                rc = -ENOMEM;
                break;
            }
            cache->deletes = grown;
            cache->delete_capacity = cap;
        }
        struct delete_request *d = &cache->deletes[cache->delete_count];
        d->key = strdup(key);
        d->uid = strdup(pod->uid);
        d->at_ns = now;
        if (!d->key || !d->uid) {
            free(d->key);
            free(d->uid);
            rc = -ENOMEM;
            break;
        }
        cache->delete_count++;
    }
    pthread_mutex_unlock(&cache->lock);
fail:
    k8s_pod_release(pod);
    free(ids);
    free(key);
    if (rc < 0)
        return error_set(err, rc, ERROR_PERMANENT, "out of memory queueing a pod deletion");
    return 0;
}

size_t k8s_pod_cache_sweep(struct k8s_pod_cache *cache)
{
    size_t removed = 0, cutoff = 0;
    pthread_mutex_lock(&cache->lock);
    int64_t now = cache->clock(cache->clock_ctx);
    while (cutoff < cache->delete_count &&
           cache->deletes[cutoff].at_ns + K8S_POD_DELETE_GRACE_NS <= now)
        cutoff++;
    for (size_t i = 0; i < cutoff; i++) {
        struct delete_request *d = &cache->deletes[i];
        const struct k8s_pod *held = table_get(&cache->pods, d->key);
        if (held && !strcmp(held->uid, d->uid)) {
            table_remove(&cache->pods, d->key);
            removed++;
        }
        free(d->key);
        free(d->uid);
    }
    memmove(cache->deletes, cache->deletes + cutoff,
            (cache->delete_count - cutoff) * sizeof(*cache->deletes));
    cache->delete_count -= cutoff;
    pthread_mutex_unlock(&cache->lock);
    return removed;
}

int k8s_pod_cache_upsert_replicaset(struct k8s_pod_cache *cache, const json_t *object,
                                    struct error *err)
{
    const json_t *meta = json_object_get(object, "metadata");
    const char *uid = json_str(meta, "uid");
    if (!uid || !uid[0])
        return 0; /* upstream stores only ReplicaSets with a uid */
    struct replicaset *rs = calloc(1, sizeof(*rs));
    int rc = -ENOMEM;
    if (!rs || dup_field(&rs->name, json_str(meta, "name")) < 0 || dup_field(&rs->uid, uid) < 0)
        goto fail;
    size_t i;
    json_t *ref;
    json_array_foreach(json_object_get(meta, "ownerReferences"), i, ref)
    {
        const char *kind = json_str(ref, "kind");
        if (kind && !strcmp(kind, "Deployment") &&
            json_is_true(json_object_get(ref, "controller"))) {
            if (dup_field(&rs->deployment_name, json_str(ref, "name")) < 0 ||
                dup_field(&rs->deployment_uid, json_str(ref, "uid")) < 0)
                goto fail;
            break;
        }
    }
    pthread_mutex_lock(&cache->lock);
    rc = table_put(&cache->replicasets, uid, rs);
    pthread_mutex_unlock(&cache->lock);
    if (rc == 0)
        return 0;
fail:
    free_replicaset(rs);
    return error_set(err, rc, ERROR_PERMANENT, "out of memory storing a ReplicaSet");
}

int k8s_pod_cache_delete_replicaset(struct k8s_pod_cache *cache, const json_t *object)
{
    const char *uid = json_str(json_object_get(object, "metadata"), "uid");
    if (!uid)
        return 0;
    pthread_mutex_lock(&cache->lock);
    table_remove(&cache->replicasets, uid);
    pthread_mutex_unlock(&cache->lock);
    return 0;
}

struct k8s_pod *k8s_pod_cache_get(struct k8s_pod_cache *cache, const struct k8s_pod_identifier *id,
                                  bool *missed)
{
    char key[KEY_MAX];
    *missed = false;
    if (key_of(id, key, sizeof(key)) < 0) {
        *missed = true;
        return NULL;
    }
    pthread_mutex_lock(&cache->lock);
    struct k8s_pod *pod = table_get(&cache->pods, key);
    if (pod && !pod->ignore)
        __atomic_add_fetch(&pod->refs, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_unlock(&cache->lock);
    if (!pod) {
        *missed = true;
        return NULL;
    }
    return pod->ignore ? NULL : pod;
}

size_t k8s_pod_cache_size(struct k8s_pod_cache *cache)
{
    pthread_mutex_lock(&cache->lock);
    size_t n = cache->pods.count;
    pthread_mutex_unlock(&cache->lock);
    return n;
}

int k8s_pod_cache_describe_keys(struct k8s_pod_cache *cache, const json_t *object, char *buf,
                                size_t size)
{
    static const char *const from_names[] = {"", "connection", "resource_attribute"};
    struct k8s_pod_identifier *ids = calloc(IDS_MAX, sizeof(*ids));
    struct k8s_pod *pod = NULL;
    if (!ids)
        return -ENOMEM;
    pthread_mutex_lock(&cache->lock);
    int rc = pod_from_api(cache, object, &pod);
    pthread_mutex_unlock(&cache->lock);
    size_t n = rc == 0 ? identifiers_of(cache->rules, pod, ids) : 0, used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < size; i++) {
        for (int s = 0; s < K8S_ASSOCIATION_SOURCES_MAX && used < size; s++) {
            if (!ids[i].slots[s].value)
                continue;
            const char *name = ids[i].slots[s].name;
            used += (size_t)snprintf(buf + used, size - used, "%s%s%s%s=%s", s ? "+" : "",
                                     from_names[ids[i].slots[s].from], name[0] ? "/" : "", name,
                                     ids[i].slots[s].value);
        }
        if (used < size)
            used += (size_t)snprintf(buf + used, size - used, "\n");
    }
    k8s_pod_release(pod);
    free(ids);
    return rc < 0 ? rc : (int)n;
}
