/*
 * options.c - the generic option binder (see options.h).
 *
 * Unknown keys are errors, as the collector's confmap decoding (ErrorUnused) makes them; the
 * message wording is ours, the rule is upstream's.
 */
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "yamljson.h"

#define FIELD(base, offset, type) ((type *)((char *)(base) + (offset)))

int options_parse_duration(const char *text, int64_t *out_ns)
{
    /* Go's time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+, or "0". */
    static const struct {
        const char *unit;
        double ns;
    } units[] = {
        {"ns", 1},  {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6},
        {"s", 1e9}, {"m", 60e9}, {"h", 3600e9},
    };
    const char *s = text;
    bool negative = false;
    if (*s == '+' || *s == '-')
        negative = *s++ == '-';
    if (!strcmp(s, "0")) {
        *out_ns = 0;
        return 0;
    }
    if (!*s)
        return -EINVAL;
    double total = 0;
    while (*s) {
        char *end;
        if (!((*s >= '0' && *s <= '9') || *s == '.'))
            return -EINVAL;
        double v = strtod(s, &end);
        if (end == s)
            return -EINVAL;
        s = end;
        size_t ulen = 0;
        while (s[ulen] && !((s[ulen] >= '0' && s[ulen] <= '9') || s[ulen] == '.'))
            ulen++;
        if (ulen == 0)
            return -EINVAL; /* a number without a unit */
        bool found = false;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            if (strlen(units[i].unit) == ulen && !strncmp(s, units[i].unit, ulen)) {
                total += v * units[i].ns;
                found = true;
                break;
            }
        }
        if (!found)
            return -EINVAL;
        s += ulen;
    }
    if (total > 9.2e18)
        return -ERANGE;
    *out_ns = (int64_t)llround(negative ? -total : total);
    return 0;
}

static const char *type_name(enum option_type t)
{
    switch (t) {
    case OPT_STRING: return "string";
    case OPT_BOOL: return "bool";
    case OPT_INT: return "int";
    case OPT_DOUBLE: return "float";
    case OPT_DURATION: return "duration";
    case OPT_STRING_LIST: return "[]string";
    case OPT_OBJECT: return "object";
    case OPT_JSON: return "any";
    case OPT_END: break;
    }
    return "?";
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "a mapping";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* Child path "a.b" + "c" -> "a.b.c" (or just "c" at the top). */
static void join_path(char *out, size_t size, const char *path, const char *key)
{
    if (path && *path)
        snprintf(out, size, "%s.%s", path, key);
    else
        snprintf(out, size, "%s", key);
}

static int bind_value(const struct option *opt, const json_t *value, void *base, const char *path,
                      struct error *err);

static int bind_string(const struct option *opt, const json_t *value, void *base, const char *path,
                       struct error *err)
{
    char **field = FIELD(base, opt->offset, char *);
    char buf[64];
    const char *text;
    if (json_is_string(value)) {
        text = json_string_value(value);
    } else if (json_is_integer(value)) {
        /* confmap's weakly typed decoding turns scalars into strings */
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        text = buf;
    } else if (json_is_real(value)) {
        snprintf(buf, sizeof(buf), "%g", json_real_value(value));
        text = buf;
    } else if (json_is_boolean(value)) {
        text = json_is_true(value) ? "true" : "false";
    } else {
        return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: expected a string, got %s", path,
                         json_type_name(value));
    }
    char *copy = strdup(text);
    if (!copy)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    free(*field);
    *field = copy;
    return 0;
}

static int bind_value(const struct option *opt, const json_t *value, void *base, const char *path,
                      struct error *err)
{
    switch (opt->type) {
    case OPT_STRING:
        if (json_is_null(value)) {
            free(*FIELD(base, opt->offset, char *));
            *FIELD(base, opt->offset, char *) = NULL;
            return 0;
        }
        return bind_string(opt, value, base, path, err);
    case OPT_BOOL:
        if (json_is_null(value)) {
            *FIELD(base, opt->offset, bool) = false;
            return 0;
        }
        if (!json_is_boolean(value))
            return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: expected a boolean, got %s", path,
                             json_type_name(value));
        *FIELD(base, opt->offset, bool) = json_is_true(value);
        return 0;
    case OPT_INT:
        if (json_is_null(value)) {
            *FIELD(base, opt->offset, int64_t) = 0;
            return 0;
        }
        if (json_is_real(value) && json_real_value(value) == floor(json_real_value(value))) {
            *FIELD(base, opt->offset, int64_t) = (int64_t)json_real_value(value);
            return 0;
        }
        if (!json_is_integer(value))
            return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: expected an integer, got %s", path,
                             json_type_name(value));
        *FIELD(base, opt->offset, int64_t) = json_integer_value(value);
        return 0;
    case OPT_DOUBLE:
        if (json_is_null(value)) {
            *FIELD(base, opt->offset, double) = 0;
            return 0;
        }
        if (!json_is_number(value))
            return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: expected a number, got %s", path,
                             json_type_name(value));
        *FIELD(base, opt->offset, double) = json_number_value(value);
        return 0;
    case OPT_DURATION:
        if (json_is_null(value)) {
            *FIELD(base, opt->offset, int64_t) = 0;
            return 0;
        }
        if (json_is_integer(value)) {
            *FIELD(base, opt->offset, int64_t) = json_integer_value(value);
            return 0;
        }
        if (!json_is_string(value) ||
            options_parse_duration(json_string_value(value), FIELD(base, opt->offset, int64_t)) < 0)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "%s: expected a duration such as \"5s\" or \"200ms\", got %s%s%s",
                             path, json_is_string(value) ? "\"" : "",
                             json_is_string(value) ? json_string_value(value)
                                                   : json_type_name(value),
                             json_is_string(value) ? "\"" : "");
        return 0;
    case OPT_STRING_LIST: {
        struct option_string_list *list = FIELD(base, opt->offset, struct option_string_list);
        for (size_t i = 0; i < list->count; i++)
            free(list->items[i]);
        free(list->items);
        list->items = NULL;
        list->count = 0;
        if (json_is_null(value))
            return 0;
        if (!json_is_array(value))
            return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: expected a list, got %s", path,
                             json_type_name(value));
        size_t n = json_array_size(value);
        list->items = calloc(n ? n : 1, sizeof(char *));
        if (!list->items)
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        for (size_t i = 0; i < n; i++) {
            const json_t *item = json_array_get(value, i);
            char item_path[512];
            snprintf(item_path, sizeof(item_path), "%s[%zu]", path, i);
            struct option item_opt = {.type = OPT_STRING, .offset = 0};
            char *slot = NULL;
            int rc = bind_string(&item_opt, item, &slot, item_path, err);
            if (rc < 0)
                return rc;
            list->items[list->count++] = slot;
        }
        return 0;
    }
    case OPT_OBJECT:
        if (!json_is_null(value) && !json_is_object(value))
            return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: expected a mapping, got %s", path,
                             json_type_name(value));
        return options_bind(opt->children, value, FIELD(base, opt->offset, char), path, err);
    case OPT_JSON: {
        json_t **field = FIELD(base, opt->offset, json_t *);
        json_decref(*field);
        *field = json_incref((json_t *)value);
        return 0;
    }
    case OPT_END: break;
    }
    return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: unsupported option type", path);
}

static const struct option *find_option(const struct option *table, const char *key)
{
    for (const struct option *opt = table; opt->type != OPT_END; opt++)
        if (!strcmp(opt->key, key))
            return opt;
    return NULL;
}

static void list_keys(const struct option *table, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (const struct option *opt = table; opt->type != OPT_END && n < size; opt++)
        n += (size_t)snprintf(out + n, size - n, "%s%s", n ? ", " : "", opt->key);
}

/* An option's default text as YAML would type it. Nearly every default is one plain scalar
 * ("200ms", "true", "0.5"), which yamljson_scalar types exactly as the YAML loader does without
 * building a parser; only flow collections and quoted or multi-line text ("[]", "{}", "[a, b]")
 * take the loader. Binding runs for every component of every config and pipeline rebuild, and
 * the parser's set-up was half of what binding cost. Caller owns *out. */
static int parse_default(const char *text, json_t **out, struct error *err)
{
    if (!strpbrk(text, "[]{}'\"#:&*!|>%@`\n") && text[0] != '-' && text[0] != '?' &&
        text[0] != ' ' && (!*text || text[strlen(text) - 1] != ' ')) {
        *out = yamljson_scalar(text);
        return *out ? 0 : error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    }
    return yamljson_parse(text, strlen(text), "default", out, NULL, err);
}

int options_bind(const struct option *table, const json_t *object, void *base, const char *path,
                 struct error *err)
{
    if (object && !json_is_null(object) && !json_is_object(object))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: expected a mapping, got %s",
                         path && *path ? path : "config", json_type_name(object));
    /* Unknown keys first: a typo is the likeliest mistake and the clearest message. */
    if (json_is_object(object)) {
        const char *key;
        json_t *value;
        json_object_foreach((json_t *)object, key, value)
        {
            if (!find_option(table, key)) {
                char known[512];
                list_keys(table, known, sizeof(known));
                return error_set(err, -EINVAL, ERROR_PERMANENT,
                                 "%s: unknown key \"%s\" (known keys: %s)",
                                 path && *path ? path : "config", key, known);
            }
        }
    }
    for (const struct option *opt = table; opt->type != OPT_END; opt++) {
        char child_path[512];
        join_path(child_path, sizeof(child_path), path, opt->key);
        json_t *value = json_is_object(object) ? json_object_get(object, opt->key) : NULL;
        if (opt->flags & OPT_PRESENCE)
            *FIELD(base, opt->presence_offset, bool) = value != NULL;
        if (!value) {
            if (opt->flags & OPT_REQUIRED)
                return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: required", child_path);
            if (opt->type == OPT_OBJECT) {
                int rc = options_bind(opt->children, NULL, FIELD(base, opt->offset, char),
                                      child_path, err);
                if (rc < 0)
                    return rc;
                continue;
            }
            if (!opt->default_value)
                continue;
            json_t *def = NULL;
            int rc = parse_default(opt->default_value, &def, err);
            if (rc < 0)
                return rc;
            rc = bind_value(opt, def, base, child_path, err);
            json_decref(def);
            if (rc < 0)
                return rc;
            continue;
        }
        int rc = bind_value(opt, value, base, child_path, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void options_free(const struct option *table, void *base)
{
    for (const struct option *opt = table; opt->type != OPT_END; opt++) {
        switch (opt->type) {
        case OPT_STRING:
            free(*FIELD(base, opt->offset, char *));
            *FIELD(base, opt->offset, char *) = NULL;
            break;
        case OPT_STRING_LIST: {
            struct option_string_list *list = FIELD(base, opt->offset, struct option_string_list);
            for (size_t i = 0; i < list->count; i++)
                free(list->items[i]);
            free(list->items);
            list->items = NULL;
            list->count = 0;
            break;
        }
        case OPT_OBJECT: options_free(opt->children, FIELD(base, opt->offset, char)); break;
        case OPT_JSON:
            json_decref(*FIELD(base, opt->offset, json_t *));
            *FIELD(base, opt->offset, json_t *) = NULL;
            break;
        default: break;
        }
    }
}

void options_describe(const struct option *table, FILE *out, int indent)
{
    for (const struct option *opt = table; opt->type != OPT_END; opt++) {
        fprintf(out, "%*s%-28s %-9s default=%-10s %s\n", indent, "", opt->key, type_name(opt->type),
                opt->default_value ? opt->default_value : "-",
                opt->description ? opt->description : "");
        if (opt->type == OPT_OBJECT)
            options_describe(opt->children, out, indent + 2);
    }
}
