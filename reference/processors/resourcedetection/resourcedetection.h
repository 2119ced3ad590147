/*
 * resourcedetection.h - what the parts of the `resourcedetection` processor share
 * (resourcedetection.c: the component; env.c and system.c: the two detectors), and what its unit
 * tests reach (reference/tests/test_resourcedetection.c).
 *
 * A detector fills a `struct resourcedetection_resource`: string attributes in the order upstream
 * puts them into its pcommon.Map, and a schema URL. Every detector here only produces strings
 * (upstream's env and system detectors do the same for every attribute we emit).
 *
 * The system detector reads the machine through a `struct resourcedetection_system_probe`, so
 * tests can give it a host name, a hosts file and DNS answers of their own; production code
 * passes &resourcedetection_system_probe_default.
 */
#ifndef OTEL_REF_RESOURCEDETECTION_H
#define OTEL_REF_RESOURCEDETECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "options.h"

/* More attributes than any detector can produce; a hard bound against a runaway env var. */
#define RESOURCEDETECTION_ATTRIBUTES_MAX 4096

struct resourcedetection_attribute {
    char *key;   /* malloc'd, owned by the resource */
    char *value; /* malloc'd, owned by the resource */
};

struct resourcedetection_resource {
    struct resourcedetection_attribute *items; /* malloc'd */
    size_t count, capacity;
    char *schema_url; /* malloc'd; NULL = none */
};

/* Frees what the resource holds and leaves it empty (reusable). A zeroed struct is empty. */
void resourcedetection_resource_clear(struct resourcedetection_resource *r);
/* pcommon.Map.PutStr: replaces the value of an existing key in place, else appends. Copies
 * key[0..key_len) and value[0..value_len). Returns 0, -ENOMEM, or -E2BIG past
 * RESOURCEDETECTION_ATTRIBUTES_MAX. */
int resourcedetection_resource_put(struct resourcedetection_resource *r, const char *key,
                                   size_t key_len, const char *value, size_t value_len);
/* Borrowed value of `key`, or NULL. */
const char *resourcedetection_resource_get(const struct resourcedetection_resource *r,
                                           const char *key);

/* ---- env detector (env.c) ---- */

/* Parses OTEL_RESOURCE_ATTRIBUTES text as upstream's initializeAttributeMap does (the text is
 * taken as given: the detector trims it first). Fills `out` (which must be empty) or, on a
 * format error, returns -EINVAL with upstream's message in err and leaves `out` empty.
 * -ENOMEM / -E2BIG likewise leave it empty. */
int resourcedetection_env_parse(const char *text, struct resourcedetection_resource *out,
                                struct error *err);
/* The env detector on given variable values (NULL = unset): OTEL_RESOURCE_ATTRIBUTES trimmed,
 * else OTEL_RESOURCE trimmed, else nothing. Same results as resourcedetection_env_parse. */
int resourcedetection_env_detect_from(const char *attributes, const char *deprecated,
                                      struct resourcedetection_resource *out, struct error *err);
/* The env detector on this process's environment. */
int resourcedetection_env_detect(struct resourcedetection_resource *out, struct error *err);

/* ---- system detector (system.c) ---- */

/* The attributes of upstream's system detector metadata.yaml, in its Emit order. Those marked
 * "not produced" are accepted in the config, as upstream accepts them, but otelcol-ref does not
 * compute them (a warning says so when one is enabled). */
enum resourcedetection_system_attribute {
    SYSTEM_ATTR_HOST_NAME = 0,
    SYSTEM_ATTR_OS_TYPE,
    SYSTEM_ATTR_HOST_ID,
    SYSTEM_ATTR_HOST_ARCH,
    SYSTEM_ATTR_OS_DESCRIPTION,
    SYSTEM_ATTR_OS_VERSION,
    SYSTEM_ATTR_HOST_IP,                /* not produced */
    SYSTEM_ATTR_HOST_MAC,               /* not produced */
    SYSTEM_ATTR_HOST_CPU_CACHE_L2_SIZE, /* not produced */
    SYSTEM_ATTR_HOST_CPU_FAMILY,        /* not produced */
    SYSTEM_ATTR_HOST_CPU_MODEL_ID,      /* not produced */
    SYSTEM_ATTR_HOST_CPU_MODEL_NAME,    /* not produced */
    SYSTEM_ATTR_HOST_CPU_STEPPING,      /* not produced */
    SYSTEM_ATTR_HOST_CPU_VENDOR_ID,     /* not produced */
    SYSTEM_ATTR_COUNT
};

struct resourcedetection_attribute_toggle {
    bool enabled;
};

/* The `system:` section, bound by resourcedetection_system_options. */
struct resourcedetection_system_config {
    struct option_string_list hostname_sources; /* empty = [dns, os], as upstream's NewDetector */
    struct resourcedetection_attribute_toggle attributes[SYSTEM_ATTR_COUNT];
};

extern const struct option resourcedetection_system_options[];
/* The semconv attribute name of `a` ("host.name"). */
const char *resourcedetection_system_attribute_name(enum resourcedetection_system_attribute a);
/* Whether `a` is computed by otelcol-ref (see the enum). */
bool resourcedetection_system_attribute_produced(enum resourcedetection_system_attribute a);
/* upstream's system Config.Validate: an unknown hostname source. Message without a path. */
int resourcedetection_system_validate(const struct resourcedetection_system_config *cfg,
                                      struct error *err);

/* Where the system detector reads the machine. Each lookup writes a NUL-terminated name into
 * buf and returns 0, or returns a negative code with a message in err. */
struct resourcedetection_system_probe {
    /* os.Hostname() */
    int (*hostname)(char *buf, size_t size, struct error *err);
    /* The hosts file go-fqdn reads ("/etc/hosts"). */
    const char *hosts_path;
    /* The canonical name of `host` from the resolver (getaddrinfo AI_CANONNAME), no trailing
     * dot: net.LookupCNAME. */
    int (*lookup_canonical)(const char *host, char *buf, size_t size, struct error *err);
    /* The first name a reverse lookup gives for an address of `host`, no trailing dot:
     * net.LookupHost then net.LookupAddr. */
    int (*lookup_reverse)(const char *host, char *buf, size_t size, struct error *err);
};

extern const struct resourcedetection_system_probe resourcedetection_system_probe_default;

/* go-fqdn's FqdnHostname through `probe`: the hosts file line that names the host, else the
 * resolver's canonical name, else a reverse lookup. */
int resourcedetection_system_fqdn(const struct resourcedetection_system_probe *probe, char *buf,
                                  size_t size, struct error *err);
/* The system detector: the first hostname source that succeeds gives host.name; the enabled
 * attributes are put in `out` (empty on entry) with the semconv schema URL. Fails with
 * upstream's "all hostname sources failed to get hostname" when no source works. */
int resourcedetection_system_detect(const struct resourcedetection_system_config *cfg,
                                    const struct resourcedetection_system_probe *probe,
                                    const char *log_name, struct resourcedetection_resource *out,
                                    struct error *err);

/* ---- the component (resourcedetection.c) ---- */

/* Bound from the processor's option table (descriptor resourcedetection_processor_descriptor). */
struct resourcedetection_config {
    struct option_string_list detectors; /* names as written; trimmed when created */
    bool override;
    int64_t timeout_ns;
    int64_t refresh_interval_ns;
    struct resourcedetection_system_config system;
};

#endif
