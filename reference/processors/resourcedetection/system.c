/*
 * system.c - the `system` detector of the resourcedetection processor: host.name from the
 * configured hostname sources and os.type, plus a few optional host attributes.
 *
 * Mirrors contrib@v0.143.0 processor/resourcedetectionprocessor/internal/system/{system.go,
 * config.go,internal/metadata/generated_config.go} and internal/metadataproviders/system/
 * metadata.go, with the vendored github.com/Showmax/go-fqdn for `dns` (facts:
 * shared/facts/pipeline.md §4):
 *   - hostname_sources default [dns, os] (also when given as []); valid os, dns, cname, lookup;
 *     anything else fails validation with `hostname_sources contains invalid value: %q`.
 *   - the first source that succeeds gives host.name; each failure is logged at debug level;
 *     none succeeding fails with `all hostname sources failed to get hostname`.
 *   - os = os.Hostname (gethostname); dns = go-fqdn: the first /etc/hosts line (comments cut at
 *     `#`) naming the host as canonical name or alias gives its canonical name, else the
 *     resolver's canonical name (net.LookupCNAME), else a reverse lookup of its addresses;
 *     cname = the resolver's canonical name of the host name, trailing dot cut; lookup = the
 *     first PTR name of the host's first address that has one, trailing dot cut.
 *   - os.type = GOOS mapped to semconv: "linux". Before any hostname source runs, Detect also
 *     computes the architecture and OS description and fails when that fails (upstream does it
 *     whether or not they are enabled); here that is uname(2).
 *   - resource_attributes.<name>.enabled, defaults as metadata.yaml: only host.name and os.type.
 *     Emitted in the order upstream's Detect sets them. Schema URL: semconv 1.38.
 *
 * Guesses (could not be checked against the source): go-fqdn rejects a hosts line whose
 * canonical name is not a valid host name (its test `127.0.0.1 _invalid_ b` gives nothing); we
 * treat a `_` in the canonical name as invalid. go-fqdn's error text when nothing is found is
 * taken to be "fqdn hostname not found". os.version is /etc/os-release VERSION_ID (gopsutil's
 * platform version) else the kernel release; os.description is os-release PRETTY_NAME (else
 * NAME VERSION) followed by the uname line in parentheses, as otel-go's resource.WithOS does;
 * host.arch maps the uname machine to GOARCH's semconv value (x86_64 -> amd64, aarch64 ->
 * arm64, i686 -> x86, arm* -> arm32, ppc64* -> ppc64, s390x).
 *
 * Deliberately not done: host.ip, host.mac and host.cpu.* are accepted in the config but not
 * computed (a warning says so when one is enabled); Go's resolver answers are not reproduced
 * byte for byte (we ask the C library, which reads the same /etc/hosts and DNS).
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "log.h"
#include "gostr.h"
#include "resourcedetection.h"

#define SYSTEM_SCHEMA_URL "https://opentelemetry.io/schemas/1.38.0"
#define NAME_MAX_LEN 1025 /* NI_MAXHOST */

static const struct {
    const char *name;
    bool default_enabled;
    bool produced;
} system_attributes[SYSTEM_ATTR_COUNT] = {
    [SYSTEM_ATTR_HOST_NAME] = {"host.name", true, true},
    [SYSTEM_ATTR_OS_TYPE] = {"os.type", true, true},
    [SYSTEM_ATTR_HOST_ID] = {"host.id", false, true},
    [SYSTEM_ATTR_HOST_ARCH] = {"host.arch", false, true},
    [SYSTEM_ATTR_OS_DESCRIPTION] = {"os.description", false, true},
    [SYSTEM_ATTR_OS_VERSION] = {"os.version", false, true},
    [SYSTEM_ATTR_HOST_IP] = {"host.ip", false, false},
    [SYSTEM_ATTR_HOST_MAC] = {"host.mac", false, false},
    [SYSTEM_ATTR_HOST_CPU_CACHE_L2_SIZE] = {"host.cpu.cache.l2.size", false, false},
    [SYSTEM_ATTR_HOST_CPU_FAMILY] = {"host.cpu.family", false, false},
    [SYSTEM_ATTR_HOST_CPU_MODEL_ID] = {"host.cpu.model.id", false, false},
    [SYSTEM_ATTR_HOST_CPU_MODEL_NAME] = {"host.cpu.model.name", false, false},
    [SYSTEM_ATTR_HOST_CPU_STEPPING] = {"host.cpu.stepping", false, false},
    [SYSTEM_ATTR_HOST_CPU_VENDOR_ID] = {"host.cpu.vendor.id", false, false},
};

/* ---- config ---- */

static const struct option enabled_by_default[] = {
    {OPT_BOOL, "enabled", "true", 0, "emit this attribute", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};
static const struct option disabled_by_default[] = {
    {OPT_BOOL, "enabled", "false", 0, "emit this attribute", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

#define TOGGLE(attr, key, table, text)                                                             \
    {                                                                                              \
        OPT_OBJECT, key, NULL, (attr) * sizeof(struct resourcedetection_attribute_toggle), text,   \
            0, table, 0                                                                            \
    }

/* Offsets from the start of attributes[] (the parent option's offset). */
static const struct option attribute_options[] = {
    TOGGLE(SYSTEM_ATTR_HOST_ARCH, "host.arch", disabled_by_default, "uname machine as GOARCH"),
    TOGGLE(SYSTEM_ATTR_HOST_CPU_CACHE_L2_SIZE, "host.cpu.cache.l2.size", disabled_by_default,
           "accepted, not produced"),
    TOGGLE(SYSTEM_ATTR_HOST_CPU_FAMILY, "host.cpu.family", disabled_by_default,
           "accepted, not produced"),
    TOGGLE(SYSTEM_ATTR_HOST_CPU_MODEL_ID, "host.cpu.model.id", disabled_by_default,
           "accepted, not produced"),
    TOGGLE(SYSTEM_ATTR_HOST_CPU_MODEL_NAME, "host.cpu.model.name", disabled_by_default,
           "accepted, not produced"),
    TOGGLE(SYSTEM_ATTR_HOST_CPU_STEPPING, "host.cpu.stepping", disabled_by_default,
           "accepted, not produced"),
    TOGGLE(SYSTEM_ATTR_HOST_CPU_VENDOR_ID, "host.cpu.vendor.id", disabled_by_default,
           "accepted, not produced"),
    TOGGLE(SYSTEM_ATTR_HOST_ID, "host.id", disabled_by_default, "/etc/machine-id"),
    TOGGLE(SYSTEM_ATTR_HOST_IP, "host.ip", disabled_by_default, "accepted, not produced"),
    TOGGLE(SYSTEM_ATTR_HOST_MAC, "host.mac", disabled_by_default, "accepted, not produced"),
    TOGGLE(SYSTEM_ATTR_HOST_NAME, "host.name", enabled_by_default, "from hostname_sources"),
    TOGGLE(SYSTEM_ATTR_OS_DESCRIPTION, "os.description", disabled_by_default,
           "os-release name and uname"),
    TOGGLE(SYSTEM_ATTR_OS_TYPE, "os.type", enabled_by_default, "\"linux\""),
    TOGGLE(SYSTEM_ATTR_OS_VERSION, "os.version", disabled_by_default, "os-release VERSION_ID"),
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

const struct option resourcedetection_system_options[] = {
    {OPT_STRING_LIST, "hostname_sources", NULL,
     offsetof(struct resourcedetection_system_config, hostname_sources),
     "os, dns, cname, lookup; the first that works gives host.name (default [dns, os])", 0, NULL,
     0},
    {OPT_OBJECT, "resource_attributes", NULL,
     offsetof(struct resourcedetection_system_config, attributes),
     "<attribute>.enabled for each system attribute", 0, attribute_options, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

const char *resourcedetection_system_attribute_name(enum resourcedetection_system_attribute a)
{
    return a < SYSTEM_ATTR_COUNT ? system_attributes[a].name : "?";
}

bool resourcedetection_system_attribute_produced(enum resourcedetection_system_attribute a)
{
    return a < SYSTEM_ATTR_COUNT && system_attributes[a].produced;
}

static const char *const hostname_source_names[] = {"os", "dns", "cname", "lookup"};

int resourcedetection_system_validate(const struct resourcedetection_system_config *cfg,
                                      struct error *err)
{
    for (size_t i = 0; i < cfg->hostname_sources.count; i++) {
        const char *source = cfg->hostname_sources.items[i];
        bool known = false;
        for (size_t k = 0; k < sizeof(hostname_source_names) / sizeof(hostname_source_names[0]);
             k++)
            known = known || !strcmp(source, hostname_source_names[k]);
        if (!known) {
            char quoted[256];
            go_quote_to(quoted, sizeof(quoted), source, strlen(source));
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "hostname_sources contains invalid value: %s", quoted);
        }
    }
    return 0;
}

/* ---- the machine, as production reads it ---- */

static int probe_hostname(char *buf, size_t size, struct error *err)
{
    if (gethostname(buf, size) < 0)
        return error_set(err, -errno, ERROR_PERMANENT, "gethostname: %s", strerror(errno));
    buf[size - 1] = '\0';
    return 0;
}

static void cut_trailing_dot(char *name)
{
    size_t n = strlen(name);
    if (n > 0 && name[n - 1] == '.')
        name[n - 1] = '\0';
}

static int probe_lookup_canonical(const char *host, char *buf, size_t size, struct error *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_flags = AI_CANONNAME};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, NULL, &hints, &res);
    if (gai != 0)
        return error_set(err, -EIO, ERROR_PERMANENT, "lookup %s: %s", host, gai_strerror(gai));
    int rc = 0;
    if (!res || !res->ai_canonname || !res->ai_canonname[0])
        rc = error_set(err, -ENOENT, ERROR_PERMANENT, "lookup %s: no canonical name", host);
    else
        snprintf(buf, size, "%s", res->ai_canonname);
    freeaddrinfo(res);
    if (rc == 0)
        cut_trailing_dot(buf);
    return rc;
}

static int probe_lookup_reverse(const char *host, char *buf, size_t size, struct error *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, NULL, &hints, &res);
    if (gai != 0)
        return error_set(err, -EIO, ERROR_PERMANENT,
                         "hostnameToDomainName failed to convert hostname to IP addresses: "
                         "lookup %s: %s",
                         host, gai_strerror(gai));
    int last = EAI_NONAME;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        last = getnameinfo(a->ai_addr, a->ai_addrlen, buf, (socklen_t)size, NULL, 0, NI_NAMEREQD);
        if (last == 0) {
            freeaddrinfo(res);
            cut_trailing_dot(buf);
            return 0;
        }
    }
    freeaddrinfo(res);
    return error_set(err, -EIO, ERROR_PERMANENT,
                     "reverseLookup failed to convert IP addresses to name: %s",
                     gai_strerror(last));
}

const struct resourcedetection_system_probe resourcedetection_system_probe_default = {
    .hostname = probe_hostname,
    .hosts_path = "/etc/hosts",
    .lookup_canonical = probe_lookup_canonical,
    .lookup_reverse = probe_lookup_reverse,
};

/* ---- go-fqdn ---- */

/* One hosts line: when `host` is among its names, copies the canonical name (the first name)
 * into buf and returns true. Cuts the comment first; changes `line`. */
static bool hosts_line_names(char *line, const char *host, char *buf, size_t size)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    char *save = NULL;
    const char *address = strtok_r(line, " \t\r\n\f\v", &save);
    const char *canonical = address ? strtok_r(NULL, " \t\r\n\f\v", &save) : NULL;
    if (!canonical)
        return false;
    bool named = !strcmp(canonical, host);
    for (const char *alias; !named && (alias = strtok_r(NULL, " \t\r\n\f\v", &save));)
        named = !strcmp(alias, host);
    if (!named || strchr(canonical, '_')) /* see "Guesses" above */
        return false;
    snprintf(buf, size, "%s", canonical);
    return true;
}

static bool fqdn_from_hosts(const char *path, const char *host, char *buf, size_t size)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f))
        found = hosts_line_names(line, host, buf, size);
    fclose(f);
    return found;
}

int resourcedetection_system_fqdn(const struct resourcedetection_system_probe *probe, char *buf,
                                  size_t size, struct error *err)
{
    char host[NAME_MAX_LEN];
    int rc = probe->hostname(host, sizeof(host), err);
    if (rc < 0)
        return rc;
    if (probe->hosts_path && fqdn_from_hosts(probe->hosts_path, host, buf, size))
        return 0;
    if (probe->lookup_canonical(host, buf, size, NULL) == 0)
        return 0;
    if (probe->lookup_reverse(host, buf, size, NULL) == 0)
        return 0;
    return error_set(err, -ENOENT, ERROR_PERMANENT, "fqdn hostname not found");
}

/* One hostname source; errors in upstream's words (they only reach the debug log). */
static int hostname_from(const char *source, const struct resourcedetection_system_probe *probe,
                         char *buf, size_t size, struct error *err)
{
    int rc;
    if (!strcmp(source, "os")) {
        if ((rc = probe->hostname(buf, size, err)) < 0)
            error_prefix(err, "failed getting OS hostname");
        return rc;
    }
    if (!strcmp(source, "dns")) {
        if ((rc = resourcedetection_system_fqdn(probe, buf, size, err)) < 0)
            error_prefix(err, "getFQDN failed getting FQDN");
        return rc;
    }
    char host[NAME_MAX_LEN];
    if (!strcmp(source, "cname")) {
        if ((rc = probe->hostname(host, sizeof(host), err)) < 0)
            return error_prefix(err, "lookupCNAME failed to get CNAME: LookupCNAME failed to get "
                                     "hostname");
        if ((rc = probe->lookup_canonical(host, buf, size, err)) < 0)
            error_prefix(err, "lookupCNAME failed to get CNAME: LookupCNAME failed to get CNAME");
        return rc;
    }
    if (!strcmp(source, "lookup")) {
        if ((rc = probe->hostname(host, sizeof(host), err)) < 0)
            return error_prefix(err, "reverseLookupHost failed to lookup host: ReverseLookupHost "
                                     "failed to get hostname");
        if ((rc = probe->lookup_reverse(host, buf, size, err)) < 0)
            error_prefix(err, "reverseLookupHost failed to lookup host");
        return rc;
    }
    return error_set(err, -EINVAL, ERROR_PERMANENT, "unknown hostname source %s", source);
}

/* ---- the optional attributes ---- */

static const char *go_arch(const char *machine)
{
    if (!strcmp(machine, "x86_64"))
        return "amd64";
    if (!strcmp(machine, "aarch64") || !strcmp(machine, "arm64"))
        return "arm64";
    if (machine[0] == 'i' && !strcmp(machine + 2, "86"))
        return "x86";
    if (!strncmp(machine, "arm", 3))
        return "arm32";
    if (!strncmp(machine, "ppc64", 5))
        return "ppc64";
    return machine; /* s390x and the rest: as uname says */
}

/* The value of `key` in an os-release file, unquoted, into buf; false when absent. */
static bool os_release_value(const char *key, char *buf, size_t size)
{
    static const char *const paths[] = {"/etc/os-release", "/usr/lib/os-release"};
    for (size_t p = 0; p < 2; p++) {
        FILE *f = fopen(paths[p], "re");
        if (!f)
            continue;
        char line[1024];
        size_t klen = strlen(key);
        bool found = false;
        while (!found && fgets(line, sizeof(line), f)) {
            if (strncmp(line, key, klen) != 0 || line[klen] != '=')
                continue;
            char *v = line + klen + 1;
            v[strcspn(v, "\r\n")] = '\0';
            size_t n = strlen(v);
            if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
                v[n - 1] = '\0';
                v++;
            }
            snprintf(buf, size, "%s", v);
            found = true;
        }
        fclose(f);
        return found; /* the first file that exists is the one, as otel-go reads them */
    }
    return false;
}

static void os_description(const struct utsname *u, char *buf, size_t size)
{
    char name[256], version[256], pretty[256];
    char line[5 * sizeof(u->sysname) + 8];
    snprintf(line, sizeof(line), "%s %s %s %s %s", u->sysname, u->nodename, u->release, u->version,
             u->machine);
    if (os_release_value("PRETTY_NAME", pretty, sizeof(pretty))) {
        snprintf(buf, size, "%s (%s)", pretty, line);
    } else if (os_release_value("NAME", name, sizeof(name))) {
        if (!os_release_value("VERSION", version, sizeof(version)))
            version[0] = '\0';
        snprintf(buf, size, "%s%s%s (%s)", name, version[0] ? " " : "", version, line);
    } else {
        snprintf(buf, size, "%s", line);
    }
}

static bool host_id(char *buf, size_t size)
{
    static const char *const paths[] = {"/etc/machine-id", "/var/lib/dbus/machine-id"};
    for (size_t p = 0; p < 2; p++) {
        FILE *f = fopen(paths[p], "re");
        if (!f)
            continue;
        bool ok = fgets(buf, (int)size, f) != NULL;
        fclose(f);
        if (ok) {
            buf[strcspn(buf, "\r\n")] = '\0';
            if (buf[0])
                return true;
        }
    }
    return false;
}

static int put(struct resourcedetection_resource *out, const char *key, const char *value,
               struct error *err)
{
    int rc = resourcedetection_resource_put(out, key, strlen(key), value, strlen(value));
    if (rc < 0)
        return error_set(err, rc, ERROR_PERMANENT, "out of memory");
    return 0;
}

int resourcedetection_system_detect(const struct resourcedetection_system_config *cfg,
                                    const struct resourcedetection_system_probe *probe,
                                    const char *log_name, struct resourcedetection_resource *out,
                                    struct error *err)
{
    static const char *const default_sources[] = {"dns", "os"};
#define ENABLED(a) (cfg->attributes[(a)].enabled)
    struct utsname u;
    char hostname[NAME_MAX_LEN], text[2048];
    int rc = 0;
    if (uname(&u) < 0)
        return error_set(err, -errno, ERROR_PERMANENT, "failed getting host architecture: %s",
                         strerror(errno));
    size_t count = cfg->hostname_sources.count;
    const char *const *sources =
        count ? (const char *const *)cfg->hostname_sources.items : default_sources;
    if (!count)
        count = 2;
    bool found = false;
    for (size_t i = 0; i < count && !found; i++) {
        struct error source_err = {0};
        if (hostname_from(sources[i], probe, hostname, sizeof(hostname), &source_err) == 0)
            found = true;
        else
            log_debug(log_name, "%s", source_err.message);
    }
    if (!found)
        return error_set(err, -ENOENT, ERROR_PERMANENT,
                         "all hostname sources failed to get hostname");
    /* The order of upstream's Detect: host.name, os.type, host.id, host.arch, os.description,
     * os.version. */
    if (ENABLED(SYSTEM_ATTR_HOST_NAME) && (rc = put(out, "host.name", hostname, err)) < 0)
        goto fail;
    if (ENABLED(SYSTEM_ATTR_OS_TYPE) && (rc = put(out, "os.type", "linux", err)) < 0)
        goto fail;
    if (ENABLED(SYSTEM_ATTR_HOST_ID)) {
        if (host_id(text, sizeof(text))) {
            if ((rc = put(out, "host.id", text, err)) < 0)
                goto fail;
        } else {
            log_warn(log_name, "failed to get host ID");
        }
    }
    if (ENABLED(SYSTEM_ATTR_HOST_ARCH) && (rc = put(out, "host.arch", go_arch(u.machine), err)) < 0)
        goto fail;
    if (ENABLED(SYSTEM_ATTR_OS_DESCRIPTION)) {
        os_description(&u, text, sizeof(text));
        if ((rc = put(out, "os.description", text, err)) < 0)
            goto fail;
    }
    if (ENABLED(SYSTEM_ATTR_OS_VERSION)) {
        if (!os_release_value("VERSION_ID", text, sizeof(text)))
            snprintf(text, sizeof(text), "%s", u.release);
        if ((rc = put(out, "os.version", text, err)) < 0)
            goto fail;
    }
#undef ENABLED
    free(out->schema_url);
    out->schema_url = strdup(SYSTEM_SCHEMA_URL);
    if (!out->schema_url) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    return 0;
fail:
    resourcedetection_resource_clear(out);
    return rc;
}
