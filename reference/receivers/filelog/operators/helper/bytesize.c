/*
 * bytesize.c - upstream's helper.ByteSize (contrib v0.142 pkg/stanza/operator/helper/
 * bytesize.go): an integer, or a number with an optional unit, case-insensitive: b, kb, kib, mb,
 * mib, gb, gib, tb, tib, pb, pib (decimal units are powers of 1000, binary ones of 1024).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../operator.h"

int stanza_bytesize_parse(const json_t *value, int64_t *out, const char *path, struct error *err)
{
    static const struct {
        const char *unit;
        double factor;
    } units[] = {{"", 1},      {"b", 1},
                 {"kb", 1e3},  {"kib", 1024.0},
                 {"mb", 1e6},  {"mib", 1048576.0},
                 {"gb", 1e9},  {"gib", 1073741824.0},
                 {"tb", 1e12}, {"tib", 1099511627776.0},
                 {"pb", 1e15}, {"pib", 1125899906842624.0}};
    *out = 0;
    if (!value || json_is_null(value))
        return 0;
    if (json_is_integer(value)) {
        *out = json_integer_value(value);
        return 0;
    }
    if (json_is_real(value)) {
        *out = (int64_t)json_real_value(value);
        return 0;
    }
    if (!json_is_string(value))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: invalid byte size", path);
    const char *s = json_string_value(value);
    char *end;
    double n = strtod(s, &end);
    if (end == s)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: invalid byte size \"%s\"", path, s);
    while (isspace((unsigned char)*end))
        end++;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (!strcasecmp(end, units[i].unit)) {
            *out = (int64_t)llround(n * units[i].factor);
            return 0;
        }
    return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: invalid byte size \"%s\"", path, s);
}
